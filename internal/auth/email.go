package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"secureapi/internal/audit"
	"secureapi/internal/mail"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/logging"
	"secureapi/internal/user"
)

// Audit actions of address changes and verification.
const (
	ActionEmailChangeRequested = "user.email_change_requested"
	ActionEmailChanged         = "user.email_changed"
)

// RequestEmailChange starts moving the caller's account to newEmail. It
// needs the current password (under the login failure budget), so a stolen
// access token alone cannot take the account's mail, and with it password
// resets. In one transaction the new address is queued a confirmation link
// and the current address a notice. The answer is the same whether or not
// newEmail already belongs to an account (that owner gets nothing), so this
// cannot test which addresses have accounts.
func (s *Service) RequestEmailChange(ctx context.Context, p Principal, newEmail, currentPassword string) error {
	addr, err := user.ParseEmail(newEmail)
	if err != nil {
		return apperr.Field("body", "new_email", err.Error())
	}
	u, err := user.Self(ctx, s.users, p)
	if err != nil {
		return err
	}
	if err := s.CheckPassword(ctx, u, currentPassword); err != nil {
		return err
	}
	if string(addr) == u.Email {
		return apperr.Field("body", "new_email", "is already the account's address")
	}
	now := s.clock()
	err = s.tx.InTx(ctx, func(st Stores) error {
		msgs := []mail.Message{s.emailChangeNotice(u.Email, string(addr))}
		if _, err := st.Users().ByEmail(ctx, string(addr)); errors.Is(err, user.ErrNotFound) {
			plain, err := s.issueMailToken(ctx, st.Credentials(), u.ID, PurposeEmailChange, string(addr), now)
			if err != nil {
				return err
			}
			msgs = append(msgs, s.emailChangeMessage(string(addr), plain))
		} else if err != nil {
			return err
		}
		if err := s.mail.Add(ctx, st, msgs...); err != nil {
			return err
		}
		return s.recordIn(ctx, st, audit.Entry{
			ActorID: u.ID, Action: ActionEmailChangeRequested, TargetType: "user", TargetID: u.ID,
			Details: map[string]any{"new_email": logging.MaskEmail(string(addr))},
		})
	})
	if err != nil {
		return err
	}
	s.mail.Wake()
	return nil
}

func (s *Service) emailChangeMessage(to, plain string) mail.Message {
	return mail.Message{
		To:      to,
		Subject: "Confirm your new email address",
		Body: fmt.Sprintf("Someone asked to use this address for their account.\n\n"+
			"To confirm it, open this link within %d minutes while logged in:\n\n%s\n\n"+
			"If you did not ask for this, ignore this message: nothing changes.\n",
			int(s.cfg.EmailChangeTTL.Minutes()), s.link("/confirm-email", plain)),
	}
}

func (s *Service) emailChangeNotice(to, newEmail string) mail.Message {
	return mail.Message{
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
// session, voids every other mailed token, password resets included, and
// records the event. An address taken since the request is a 409, and the
// link stays unspent.
func (s *Service) ConfirmEmailChange(ctx context.Context, p Principal, token string) (user.User, error) {
	now := s.clock()
	var out user.User
	err := s.tx.InTx(ctx, func(st Stores) error {
		tx := st.Credentials()
		t, u, err := redeemMailToken(ctx, st, PurposeEmailChange, token, now)
		if err != nil {
			return err
		}
		// A link belongs to the account that asked for it; another
		// account's session cannot use it.
		if t.UserID != p.UserID || t.Email == "" {
			return ErrInvalidMailToken
		}
		u.Email, u.EmailVerifiedAt, u.UpdatedAt = t.Email, &now, now
		if out, err = st.Users().Update(ctx, u); err != nil {
			return err
		}
		revoked, err := tx.RevokeUserSessions(ctx, u.ID, p.SessionID, ReasonEmailChanged, now)
		if err != nil {
			return err
		}
		if err := tx.DeleteMailTokens(ctx, u.ID, ""); err != nil {
			return err
		}
		return s.recordIn(ctx, st, audit.Entry{
			ActorID: p.UserID, Action: ActionEmailChanged, TargetType: "user", TargetID: p.UserID,
			Details: map[string]any{"new_email": logging.MaskEmail(out.Email), "sessions_revoked": len(revoked)},
		})
	})
	if err != nil {
		return user.User{}, err
	}
	return out, nil
}

// Audit action of a verified address.
const ActionEmailVerified = "user.email_verified"

// queueVerification issues u a link that verifies its current address and
// queues it in st's transaction.
func (s *Service) queueVerification(ctx context.Context, st Stores, u user.User, now time.Time) error {
	plain, err := s.issueMailToken(ctx, st.Credentials(), u.ID, PurposeEmailVerify, u.Email, now)
	if err != nil {
		return err
	}
	return s.mail.Add(ctx, st, mail.Message{
		To:      u.Email,
		Subject: "Verify your email address",
		Body: fmt.Sprintf("Please confirm that this address belongs to your account.\n\n"+
			"Open this link within %d hours:\n\n%s\n\n"+
			"If you did not create an account, ignore this message.\n",
			int(s.cfg.VerifyTTL.Hours()), s.link("/verify-email", plain)),
	})
}

// sendVerification queues u a new verification link in a transaction of its own.
func (s *Service) sendVerification(ctx context.Context, u user.User, now time.Time) error {
	err := s.tx.InTx(ctx, func(st Stores) error { return s.queueVerification(ctx, st, u, now) })
	if err == nil {
		s.mail.Wake()
	}
	return err
}

func (s *Service) accountExistsMessage(to string) mail.Message {
	return mail.Message{
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
	err := s.tx.InTx(ctx, func(st Stores) error {
		t, u, err := redeemMailToken(ctx, st, PurposeEmailVerify, token, now)
		if err != nil {
			return err
		}
		if u.Email != t.Email {
			return ErrInvalidMailToken
		}
		if u.EmailVerifiedAt != nil {
			return nil
		}
		u.EmailVerifiedAt, u.UpdatedAt = &now, now
		if _, err := st.Users().Update(ctx, u); err != nil {
			return err
		}
		return s.recordIn(ctx, st, audit.Entry{ActorID: u.ID, Action: ActionEmailVerified, TargetType: "user", TargetID: u.ID})
	})
	return err
}

// ResendVerification mails the caller a new verification link (voiding
// the earlier ones) unless the address is verified already.
func (s *Service) ResendVerification(ctx context.Context, p Principal) error {
	u, err := user.Self(ctx, s.users, p)
	if err != nil {
		return err
	}
	if u.EmailVerifiedAt != nil {
		return nil
	}
	return s.sendVerification(ctx, u, s.clock())
}
