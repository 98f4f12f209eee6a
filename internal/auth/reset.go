package auth

import (
	"context"
	"errors"
	"fmt"

	"secureapi/internal/audit"
	"secureapi/internal/user"
)

// ForgotPassword mails a reset link when email belongs to an active account.
// It never tells the caller whether it did: every failure is only logged.
func (s *Service) ForgotPassword(ctx context.Context, email string) error {
	email = user.NormalizeEmail(email)
	u, err := s.users.ByEmail(ctx, email)
	if err != nil {
		if !errors.Is(err, user.ErrNotFound) {
			s.log.ErrorContext(ctx, "password reset lookup failed", "err", err)
		}
		return nil
	}
	if !u.IsActive {
		return nil
	}
	plain, err := s.issueMailToken(ctx, nil, u.ID, PurposePasswordReset, "", s.clock())
	if err != nil {
		s.log.ErrorContext(ctx, "storing a reset token failed", "user_id", u.ID, "err", err)
		return nil
	}
	s.record(ctx, audit.Entry{ActorID: u.ID, Action: "user.password_reset_requested", TargetType: "user", TargetID: u.ID})
	s.send(ctx, u.ID, s.resetMessage(u.Email, plain))
	return nil
}

func (s *Service) resetMessage(to, plain string) Message {
	minutes := int(s.cfg.ResetTTL.Minutes())
	return Message{
		To:      to,
		Subject: "Reset your password",
		Body: fmt.Sprintf("Someone asked to reset the password of your account.\n\n"+
			"To choose a new password, open this link within %d minutes:\n\n%s\n\n"+
			"If you did not ask for this, ignore this message: your password stays as it is.\n",
			minutes, s.link("/reset-password", plain)),
	}
}

// ResetPassword sets a new password with a reset token. In the same
// transaction it revokes every session of the account and voids every other
// reset link, so the account never has the new password with an intruder's
// session still open. The link reached the account's mailbox, so it also
// proves the address.
func (s *Service) ResetPassword(ctx context.Context, resetToken, newPassword string) error {
	if err := s.checkPolicy("new_password", newPassword); err != nil {
		return err
	}
	if resetToken == "" || len(resetToken) > 200 {
		return ErrInvalidMailToken
	}
	// Hash before the token is spent, so a saturated hasher answers a
	// retryable 503 and the same link still works.
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return s.hashErr(err)
	}
	now := s.clock()
	var (
		u       user.User
		revoked []string
	)
	err = s.sessions.InTx(ctx, func(tx Store) error {
		t, err := consumeMailToken(ctx, tx, PurposePasswordReset, resetToken, now)
		if err != nil {
			return err
		}
		if u, err = tx.Users().ByID(ctx, t.UserID); err != nil {
			if errors.Is(err, user.ErrNotFound) {
				return ErrInvalidMailToken
			}
			return err
		}
		if revoked, err = tx.RevokeUserSessions(ctx, u.ID, "", ReasonPasswordReset, now); err != nil {
			return err
		}
		if err := tx.DeleteMailTokens(ctx, u.ID, PurposePasswordReset); err != nil {
			return err
		}
		if err := tx.Users().SetPasswordHash(ctx, u.ID, hash, now); err != nil {
			return err
		}
		if u.EmailVerifiedAt == nil {
			u.EmailVerifiedAt, u.UpdatedAt = &now, now
			_, err = tx.Users().Update(ctx, u)
		}
		return err
	})
	if err != nil {
		return err
	}
	// Whoever holds the mailbox just proved it; old failures from someone
	// else must not keep them out.
	if err := s.throttle.clear(ctx, throttleKey(u.Email)); err != nil {
		s.log.ErrorContext(ctx, "clearing the login throttle failed", "err", err)
	}
	s.record(ctx, audit.Entry{
		ActorID: u.ID, Action: "user.password_reset", TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"sessions_revoked": len(revoked)},
	})
	return nil
}
