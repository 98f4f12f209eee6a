package auth

import (
	"context"

	"github.com/google/uuid"

	"secureapi/internal/audit"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/user"
)

// ChangePassword replaces the caller's password after checking the current
// one (under the login failure budget). In one transaction it revokes every
// other session and every personal access token of the account (whoever
// holds them may be the reason for the change), voids the reset links
// already mailed, stores the new hash and records the event.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string) error {
	u, err := user.Self(ctx, s.users, p)
	if err != nil {
		return err
	}
	// The policy check is free and secret-free, so it goes before the costly verify.
	if err := s.checkPolicy("new_password", next); err != nil {
		return err
	}
	// One admission covers the check and the new hash, so a caller whose
	// current password was accepted is not refused halfway.
	hr, err := s.hasher.Reserve()
	if err != nil {
		return s.hashErr(err)
	}
	defer hr.Release()
	if err := s.checkPassword(ctx, hr, u, current); err != nil {
		return err
	}
	hash, err := hr.Hash(ctx, next)
	hr.Release()
	if err != nil {
		return s.hashErr(err)
	}
	now := s.clock()
	return s.tx.InTx(ctx, func(st Stores) error {
		revoked, err := st.Credentials().RevokeUserSessions(ctx, u.ID, p.SessionID, ReasonPasswordChanged, now)
		if err != nil {
			return err
		}
		tokens, err := st.AccessTokens().RevokeAll(ctx, u.ID, ReasonPasswordChanged, now)
		if err != nil {
			return err
		}
		if err := st.Credentials().DeleteMailTokens(ctx, u.ID, PurposePasswordReset); err != nil {
			return err
		}
		if err := st.Users().SetPasswordHash(ctx, u.ID, hash, now); err != nil {
			return err
		}
		return s.recordIn(ctx, st, audit.Entry{
			ActorID: p.UserID, Action: ActionPasswordChanged, TargetType: "user", TargetID: u.ID,
			Details: map[string]any{"revoked_sessions": len(revoked), "revoked_pats": len(tokens)},
		})
	})
}

// CreateAdmin creates an active admin account. It serves the command line,
// which has no request validator in front of it, so it checks the input
// the API schema would have checked.
func (s *Service) CreateAdmin(ctx context.Context, rawEmail, rawUsername, pw string) (user.User, error) {
	email, err := user.ParseEmail(rawEmail)
	if err != nil {
		return user.User{}, apperr.Field("body", "email", err.Error())
	}
	username, err := user.ParseUsername(rawUsername)
	if err != nil {
		return user.User{}, apperr.Field("body", "username", err.Error())
	}
	if err := s.checkPolicy("password", pw); err != nil {
		return user.User{}, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return user.User{}, s.hashErr(err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return user.User{}, err
	}
	now := s.clock()
	var u user.User
	err = s.tx.InTx(ctx, func(st Stores) error {
		if u, err = st.Users().Create(ctx, user.User{
			ID: id.String(), Email: string(email), Username: string(username), PasswordHash: hash,
			Role: user.RoleAdmin, IsActive: true, CreatedAt: now, UpdatedAt: now,
		}); err != nil {
			return err
		}
		return s.recordIn(ctx, st, audit.Entry{
			Action: ActionAdminCreated, TargetType: "user", TargetID: u.ID, Details: map[string]any{"via": "cli"},
		})
	})
	if err != nil {
		return user.User{}, err
	}
	return u, nil
}
