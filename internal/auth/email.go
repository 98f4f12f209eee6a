package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"secureapi/internal/audit"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/logging"
	"secureapi/internal/user"
)

// Audit actions of address changes and verification.
const (
	ActionEmailChangeRequested = "user.email_change_requested"
	ActionEmailChanged         = "user.email_changed"
)

// send delivers m now. A failure is logged, never shown to the caller: the
// answers that mail something must not reveal whether they did.
func (s *Service) send(ctx context.Context, userID string, m Message) {
	if s.mailer == nil {
		s.log.WarnContext(ctx, "no mailer configured; mail dropped", "user_id", userID, "subject", m.Subject)
		return
	}
	if err := s.mailer.Send(ctx, m); err != nil {
		s.log.ErrorContext(ctx, "sending mail failed", "user_id", userID, "subject", m.Subject, "err", err)
	}
}

// RequestEmailChange starts moving the caller's account to newEmail. It
// needs the current password (under the login failure budget), so a stolen
// access token alone cannot take the account's mail, and with it password
// resets. The new address gets a confirmation link; the current address gets
// a notice. The answer is the same whether or not newEmail already belongs to
// an account (that owner gets nothing), so this cannot test which addresses
// have accounts.
func (s *Service) RequestEmailChange(ctx context.Context, p Principal, newEmail, currentPassword string) error {
	addr, err := user.ParseEmail(newEmail)
	if err != nil {
		return apperr.Field("body", "new_email", err.Error())
	}
	u, err := s.users.ByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	if err := s.CheckPassword(ctx, u, currentPassword); err != nil {
		return err
	}
	if string(addr) == u.Email {
		return apperr.Field("body", "new_email", "is already the account's address")
	}
	taken := true
	if _, err := s.users.ByEmail(ctx, string(addr)); errors.Is(err, user.ErrNotFound) {
		taken = false
	} else if err != nil {
		return err
	}
	if !taken {
		plain, err := s.issueMailToken(ctx, nil, u.ID, PurposeEmailChange, string(addr), s.clock())
		if err != nil {
			return err
		}
		s.send(ctx, u.ID, s.emailChangeMessage(string(addr), plain))
	}
	s.send(ctx, u.ID, s.emailChangeNotice(u.Email, string(addr)))
	s.record(ctx, audit.Entry{
		ActorID: u.ID, Action: ActionEmailChangeRequested, TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"new_email": logging.MaskEmail(string(addr))},
	})
	return nil
}

func (s *Service) emailChangeMessage(to, plain string) Message {
	return Message{
		To:      to,
		Subject: "Confirm your new email address",
		Body: fmt.Sprintf("Someone asked to use this address for their account.\n\n"+
			"To confirm it, open this link within %d minutes while logged in:\n\n%s\n\n"+
			"If you did not ask for this, ignore this message: nothing changes.\n",
			int(s.cfg.EmailChangeTTL.Minutes()), s.link("/confirm-email", plain)),
	}
}

func (s *Service) emailChangeNotice(to, newEmail string) Message {
	return Message{
		To:      to,
		Subject: "Your account's email address is about to change",
		Body: fmt.Sprintf("Someone with your password asked to change your account's email address to %s.\n\n"+
			"Nothing changes until the new address confirms it. If this was not you, change your\n"+
			"password now and log out of your other sessions.\n", logging.MaskEmail(newEmail)),
	}
}

// ConfirmEmailChange switches the caller's account to the address a change
// link was sent to. In one transaction it spends the link, sets the address
// (marked verified: the link proves the mailbox), revokes every other
// session and voids every other mailed token, password resets included. An
// address taken since the request is a 409, and the link stays unspent.
func (s *Service) ConfirmEmailChange(ctx context.Context, p Principal, token string) (user.User, error) {
	now := s.clock()
	var (
		out     user.User
		revoked []string
	)
	err := s.sessions.InTx(ctx, func(tx Store) error {
		t, err := consumeMailToken(ctx, tx, PurposeEmailChange, token, now)
		if err != nil {
			return err
		}
		// A link belongs to the account that asked for it; another
		// account's session cannot use it.
		if t.UserID != p.UserID || t.Email == "" {
			return ErrInvalidMailToken
		}
		u, err := tx.Users().ByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		u.Email, u.EmailVerifiedAt, u.UpdatedAt = t.Email, &now, now
		if out, err = tx.Users().Update(ctx, u); err != nil {
			return err
		}
		if revoked, err = tx.RevokeUserSessions(ctx, u.ID, p.SessionID, ReasonEmailChanged, now); err != nil {
			return err
		}
		return tx.DeleteMailTokens(ctx, u.ID, "")
	})
	if err != nil {
		return user.User{}, err
	}
	s.record(ctx, audit.Entry{
		ActorID: p.UserID, Action: ActionEmailChanged, TargetType: "user", TargetID: p.UserID,
		Details: map[string]any{"new_email": logging.MaskEmail(out.Email), "sessions_revoked": len(revoked)},
	})
	return out, nil
}

// Audit action of a verified address.
const ActionEmailVerified = "user.email_verified"

// sendVerification mails u a link that verifies its current address. A
// failure is logged: the account exists either way and can ask again.
func (s *Service) sendVerification(ctx context.Context, u user.User, now time.Time) {
	plain, err := s.issueMailToken(ctx, nil, u.ID, PurposeEmailVerify, u.Email, now)
	if err != nil {
		s.log.ErrorContext(ctx, "storing a verification token failed", "user_id", u.ID, "err", err)
		return
	}
	s.send(ctx, u.ID, Message{
		To:      u.Email,
		Subject: "Verify your email address",
		Body: fmt.Sprintf("Please confirm that this address belongs to your account.\n\n"+
			"Open this link within %d hours:\n\n%s\n\n"+
			"If you did not create an account, ignore this message.\n",
			int(s.cfg.VerifyTTL.Hours()), s.link("/verify-email", plain)),
	})
}

func (s *Service) accountExistsMessage(to string) Message {
	return Message{
		To:      to,
		Subject: "You already have an account",
		Body: "Someone tried to create an account with this address, which already has one.\n\n" +
			"If it was you, log in instead, or ask for a password reset if you forgot your password.\n" +
			"If it was not you, ignore this message: nothing was changed.\n",
	}
}

// VerifyEmail marks an account's address verified with a mailed link. The
// link proves only the address it was sent to: once the account has moved
// to another address it no longer works.
func (s *Service) VerifyEmail(ctx context.Context, token string) error {
	now := s.clock()
	var u user.User
	err := s.sessions.InTx(ctx, func(tx Store) error {
		t, err := consumeMailToken(ctx, tx, PurposeEmailVerify, token, now)
		if err != nil {
			return err
		}
		if u, err = tx.Users().ByID(ctx, t.UserID); err != nil {
			if errors.Is(err, user.ErrNotFound) {
				return ErrInvalidMailToken
			}
			return err
		}
		if u.Email != t.Email {
			return ErrInvalidMailToken
		}
		if u.EmailVerifiedAt != nil {
			return nil
		}
		u.EmailVerifiedAt, u.UpdatedAt = &now, now
		_, err = tx.Users().Update(ctx, u)
		return err
	})
	if err != nil {
		return err
	}
	s.record(ctx, audit.Entry{ActorID: u.ID, Action: ActionEmailVerified, TargetType: "user", TargetID: u.ID})
	return nil
}

// ResendVerification mails the caller a new verification link (voiding
// the earlier ones) unless the address is verified already.
func (s *Service) ResendVerification(ctx context.Context, p Principal) error {
	u, err := s.users.ByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	if u.EmailVerifiedAt == nil {
		s.sendVerification(ctx, u, s.clock())
	}
	return nil
}
