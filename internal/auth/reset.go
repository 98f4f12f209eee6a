package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"secureapi/internal/audit"
	"secureapi/internal/user"
)

// ForgotPassword mails a reset link when email belongs to an active account.
// It never tells the caller whether it did: every failure is only logged.
func (s *Service) ForgotPassword(ctx context.Context, email string) error {
	email = NormalizeEmail(email)
	// Made for every request, so known and unknown addresses cost about
	// the same before the lookup.
	plain, hash, err := newSecret()
	if err != nil {
		s.log.ErrorContext(ctx, "generating a reset token failed", "err", err)
		return nil
	}
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
	now := s.clock()
	if err := s.sessions.CreatePasswordReset(ctx, hash, u.ID, now, now.Add(s.cfg.ResetTTL)); err != nil {
		s.log.ErrorContext(ctx, "storing a reset token failed", "user_id", u.ID, "err", err)
		return nil
	}
	s.record(ctx, audit.Entry{ActorID: u.ID, Action: "user.password_reset_requested", TargetType: "user", TargetID: u.ID})
	if s.mailer == nil {
		s.log.WarnContext(ctx, "no mailer configured; password reset mail dropped", "user_id", u.ID)
		return nil
	}
	if err := s.mailer.Send(ctx, s.resetMessage(u.Email, plain)); err != nil {
		s.log.ErrorContext(ctx, "sending the password reset mail failed", "user_id", u.ID, "err", err)
	}
	return nil
}

func (s *Service) resetMessage(to, plain string) Message {
	link := s.cfg.PublicBaseURL + "/reset-password?token=" + url.QueryEscape(plain)
	minutes := int(s.cfg.ResetTTL.Minutes())
	return Message{
		To:      to,
		Subject: "Reset your password",
		Body: fmt.Sprintf("Someone asked to reset the password of your account.\n\n"+
			"To choose a new password, open this link within %d minutes:\n\n%s\n\n"+
			"If you did not ask for this, ignore this message: your password stays as it is.\n", minutes, link),
	}
}

// ResetPassword sets a new password with a reset token, then revokes every
// session of the account and every other outstanding reset token.
func (s *Service) ResetPassword(ctx context.Context, resetToken, newPassword string) error {
	if err := s.checkPolicy("new_password", newPassword); err != nil {
		return err
	}
	if resetToken == "" || len(resetToken) > 200 {
		return ErrInvalidResetToken
	}
	// Hash before the token is spent, so a saturated hasher answers a
	// retryable 503 and the same link still works.
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return s.hashErr(err)
	}
	now := s.clock()
	userID, err := s.sessions.ConsumePasswordReset(ctx, hashSecret(resetToken), now)
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidResetToken
	}
	if err != nil {
		return err
	}
	// Sessions and other links go before the password is set: if a step
	// fails, the account is left with fewer ways in, never with a new
	// password and an intruder's session still open.
	var revoked []string
	err = s.sessions.InTx(ctx, func(tx Store) error {
		var err error
		if revoked, err = tx.RevokeUserSessions(ctx, userID, "", ReasonPasswordReset, now); err != nil {
			return err
		}
		return tx.DeletePasswordResets(ctx, userID)
	})
	if err != nil {
		return err
	}
	if s.pats != nil {
		if _, err := s.pats.RevokeAll(ctx, userID, ReasonPasswordReset); err != nil {
			return fmt.Errorf("revoke access tokens before password reset: %w", err)
		}
	}
	if err := s.users.SetPasswordHash(ctx, userID, hash, now); err != nil {
		if errors.Is(err, user.ErrNotFound) {
			return ErrInvalidResetToken
		}
		return err
	}
	if u, err := s.users.ByID(ctx, userID); err == nil {
		// Whoever holds the mailbox just proved it; old failures from
		// someone else must not keep them out.
		if err := s.throttle.clear(ctx, throttleKey(u.Email)); err != nil {
			s.log.ErrorContext(ctx, "clearing the login throttle failed", "err", err)
		}
	}
	s.record(ctx, audit.Entry{
		ActorID: userID, Action: "user.password_reset", TargetType: "user", TargetID: userID,
		Details: map[string]any{"sessions_revoked": len(revoked)},
	})
	return nil
}
