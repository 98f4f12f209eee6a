package auth

import (
	"context"
	"errors"
	"time"

	"secureapi/internal/user"
)

// Every token the service sends by mail (password reset, email change,
// address verification) goes through these two functions, so they share one
// set of rules: 256 random bits, stored only as a hash, single use,
// short-lived, and a newer token of the same purpose voids the older ones.

// ttl is how long a token of purpose stays valid.
func (s *Service) ttl(p MailPurpose) time.Duration {
	switch p {
	case PurposeEmailChange:
		return s.cfg.EmailChangeTTL
	case PurposeEmailVerify:
		return s.cfg.VerifyTTL
	}
	return s.cfg.ResetTTL
}

// issueMailToken stores a new token of purpose for userID (proving email,
// when the purpose is about an address) in tx, voids the account's earlier
// tokens of that purpose, and returns the token to put in the mail.
func (s *Service) issueMailToken(ctx context.Context, tx Store, userID string, purpose MailPurpose, email string, now time.Time) (string, error) {
	plain, hash, err := newSecret()
	if err != nil {
		return "", err
	}
	if err := tx.DeleteMailTokens(ctx, userID, purpose); err != nil {
		return "", err
	}
	err = tx.CreateMailToken(ctx, MailToken{
		Hash: hash, UserID: userID, Purpose: purpose, Email: email,
		CreatedAt: now, ExpiresAt: now.Add(s.ttl(purpose)),
	})
	return plain, err
}

// redeemMailToken spends a token of purpose inside st and loads the account
// it was issued to. Anything but a live token of that purpose, or one whose
// account is gone, is ErrInvalidMailToken; when the caller then returns an
// error, the transaction rolls back and the token stays unspent.
func redeemMailToken(ctx context.Context, st Stores, purpose MailPurpose, plain string, now time.Time) (MailToken, user.User, error) {
	if plain == "" || len(plain) > 200 {
		return MailToken{}, user.User{}, ErrInvalidMailToken
	}
	t, err := st.Credentials().ConsumeMailToken(ctx, purpose, hashSecret(plain), now)
	if errors.Is(err, ErrNotFound) {
		return MailToken{}, user.User{}, ErrInvalidMailToken
	}
	if err != nil {
		return MailToken{}, user.User{}, err
	}
	u, err := st.Users().ByID(ctx, t.UserID)
	if errors.Is(err, user.ErrNotFound) {
		return MailToken{}, user.User{}, ErrInvalidMailToken
	}
	return t, u, err
}

// link is the web page a mailed token opens. The token travels in the
// fragment, which browsers never send to a server, so it stays out of
// every access log between the mail and the page.
func (s *Service) link(page, token string) string {
	return s.cfg.PublicBaseURL + page + "#token=" + token
}
