package auth

import (
	"context"
	"errors"
	"fmt"

	"secureapi/internal/audit"
	"secureapi/internal/mail"
	"secureapi/internal/platform/logging"
	"secureapi/internal/user"
)

const resetSubject = "Reset your password"

// noAccount is a valid account id that no account has (ids are UUIDv7).
const noAccount = "00000000-0000-0000-0000-000000000000"

// ForgotPassword queues a reset link when email belongs to an active
// account. It never tells the caller whether it did: every failure is only
// logged, and an address without an active account gets the same work in
// the same transaction shape (a stand-in outbox row that is never sent, and
// an audit event), so the answer takes as long either way.
func (s *Service) ForgotPassword(ctx context.Context, email string) error {
	email = user.NormalizeEmail(email)
	now := s.clock()
	err := s.tx.InTx(ctx, func(st Stores) error {
		u, err := st.Users().ByEmail(ctx, email)
		if err != nil && !errors.Is(err, user.ErrNotFound) {
			return err
		}
		if err != nil || !u.IsActive {
			reason := "unknown_account"
			if err == nil {
				reason = "inactive"
			}
			// The statements of the real path, matching nothing: voiding
			// earlier links (of no account) and queuing a stand-in that is
			// never sent.
			if err := st.Credentials().DeleteMailTokens(ctx, noAccount, PurposePasswordReset); err != nil {
				return err
			}
			if err := s.mail.AddStandIn(ctx, st, email, resetSubject); err != nil {
				return err
			}
			return s.recordIn(ctx, st, audit.Entry{
				ActorID: u.ID, Action: ActionResetRequested, Outcome: audit.Failure,
				Details: map[string]any{"reason": reason, "email": logging.MaskEmail(email)},
			})
		}
		plain, err := s.issueMailToken(ctx, st.Credentials(), u.ID, PurposePasswordReset, "", now)
		if err != nil {
			return err
		}
		if err := s.mail.Add(ctx, st, s.resetMessage(u.Email, plain)); err != nil {
			return err
		}
		return s.recordIn(ctx, st, audit.Entry{ActorID: u.ID, Action: ActionResetRequested, TargetType: "user", TargetID: u.ID})
	})
	if err != nil {
		s.log.ErrorContext(ctx, "password reset request failed", "err", err)
		return nil
	}
	s.mail.Wake()
	return nil
}

func (s *Service) resetMessage(to, plain string) mail.Message {
	minutes := int(s.cfg.ResetTTL.Minutes())
	return mail.Message{
		To:      to,
		Subject: resetSubject,
		Body: fmt.Sprintf("Someone asked to reset the password of your account.\n\n"+
			"To choose a new password, open this link within %d minutes:\n\n%s\n\n"+
			"If you did not ask for this, ignore this message: your password stays as it is.\n",
			minutes, s.link("/reset-password", plain)),
	}
}

// ResetPassword sets a new password with a reset token. In the same
// transaction it revokes every session of the account, voids every other
// reset link and records the event, so the account never has the new
// password with an intruder's session still open. The link reached the
// account's mailbox, so it also proves the address.
func (s *Service) ResetPassword(ctx context.Context, resetToken, newPassword string) error {
	if err := s.checkPolicy("new_password", newPassword); err != nil {
		return err
	}
	if resetToken == "" || len(resetToken) > 200 {
		return ErrInvalidMailToken
	}
	// Hash before the token is spent, so a saturated hasher answers a
	// retryable 429 and the same link still works.
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return s.hashErr(err)
	}
	now := s.clock()
	var u user.User
	err = s.tx.InTx(ctx, func(st Stores) error {
		tx := st.Credentials()
		var err error
		if _, u, err = redeemMailToken(ctx, st, PurposePasswordReset, resetToken, now); err != nil {
			return err
		}
		revoked, err := tx.RevokeUserSessions(ctx, u.ID, "", ReasonPasswordReset, now)
		if err != nil {
			return err
		}
		tokens, err := st.AccessTokens().RevokeAll(ctx, u.ID, ReasonPasswordReset, now)
		if err != nil {
			return err
		}
		if err := tx.DeleteMailTokens(ctx, u.ID, PurposePasswordReset); err != nil {
			return err
		}
		if err := st.Users().SetPasswordHash(ctx, u.ID, hash, now); err != nil {
			return err
		}
		if u.EmailVerifiedAt == nil {
			u.EmailVerifiedAt, u.UpdatedAt = &now, now
			if _, err := st.Users().Update(ctx, u); err != nil {
				return err
			}
		}
		return s.recordIn(ctx, st, audit.Entry{
			ActorID: u.ID, Action: ActionPasswordReset, TargetType: "user", TargetID: u.ID,
			Details: map[string]any{"sessions_revoked": len(revoked), "pats_revoked": len(tokens)},
		})
	})
	if err != nil {
		return err
	}
	// Whoever holds the mailbox just proved it; old failures from someone
	// else must not keep them out.
	if err := s.throttle.clear(ctx, throttleKey(u.Email)); err != nil {
		s.log.ErrorContext(ctx, "clearing the login throttle failed", "err", err)
	}
	return nil
}
