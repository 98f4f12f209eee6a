package pat

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"secureapi/internal/audit"
	"secureapi/internal/identity"
	"secureapi/internal/platform/apperr"
)

const (
	// DefaultTTL is a new token's lifetime when none is asked for.
	DefaultTTL = 30 * 24 * time.Hour
	// MinTTL and MaxTTL bound the lifetime a token may be given: every
	// token expires, so a forgotten one does not work forever.
	MinTTL = 5 * time.Minute
	MaxTTL = 366 * 24 * time.Hour
	// MaxLive is how many unexpired, unrevoked tokens an account may hold.
	MaxLive = 50
	// touchInterval makes last-used times coarse: at most one write per
	// token per interval, however busy the token is.
	touchInterval = time.Minute
)

// Revocation reasons.
const (
	ReasonRevokedByUser = "revoked_by_user"
)

var (
	// ErrInvalidToken answers a request whose personal access token is
	// malformed, unknown, revoked, expired, or of a deactivated account.
	ErrInvalidToken = apperr.New(apperr.Unauthorized, "Invalid, expired or revoked personal access token.")
	ErrTooMany      = apperr.New(apperr.Conflict, "This account already has the most personal access tokens allowed; revoke one first.")
)

var scopeRE = regexp.MustCompile(`^[a-z]+:[a-z]+$`)

// Deps are the service's collaborators; Audit, Now and Log may be nil.
type Deps struct {
	Store Store
	Audit *audit.Service
	Now   func() time.Time
	Log   *slog.Logger
}

// Service creates, lists, revokes and authenticates personal access tokens.
type Service struct {
	store Store
	audit *audit.Service
	now   func() time.Time
	log   *slog.Logger
}

// NewService returns a Service over d.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{store: d.Store, audit: d.Audit, now: d.Now, log: d.Log}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Service) record(ctx context.Context, e audit.Entry) {
	if s.audit != nil {
		_ = s.audit.Record(context.WithoutCancel(ctx), e)
	}
}

// Create makes a token for the caller and returns it with its secret, which
// is never available again. ttl 0 means DefaultTTL.
func (s *Service) Create(ctx context.Context, p identity.Principal, name string, scopes []string, ttl time.Duration) (Token, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return Token{}, "", apperr.Field("body", "name", "must be 1 to 100 printable characters")
	}
	if len(scopes) == 0 {
		return Token{}, "", apperr.Field("body", "scopes", "must name at least one scope")
	}
	scopes = slices.Clone(scopes)
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	for _, sc := range scopes {
		if !scopeRE.MatchString(sc) {
			return Token{}, "", apperr.Field("body", "scopes", "must be scopes such as files:read")
		}
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < MinTTL || ttl > MaxTTL {
		return Token{}, "", apperr.Field("body", "expires_in", "must be between 300 and 31622400 seconds")
	}
	now := s.clock()
	n, err := s.store.CountLive(ctx, p.UserID, now)
	if err != nil {
		return Token{}, "", err
	}
	if n >= MaxLive {
		return Token{}, "", ErrTooMany
	}
	plain, err := generate()
	if err != nil {
		return Token{}, "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Token{}, "", err
	}
	t, err := s.store.Create(ctx, Token{
		ID: id.String(), UserID: p.UserID, Name: name, Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(ttl),
	}, hash(plain))
	if err != nil {
		return Token{}, "", err
	}
	s.record(ctx, audit.Entry{
		ActorID: p.UserID, Action: "pat.created", TargetType: "access_token", TargetID: t.ID,
		Details: map[string]any{"scopes": scopes, "expires_at": t.ExpiresAt.Format(time.RFC3339)},
	})
	return t, plain, nil
}

// List returns the caller's tokens that are not revoked: live ones first.
func (s *Service) List(ctx context.Context, p identity.Principal) ([]Token, error) {
	return s.store.List(ctx, p.UserID, s.clock())
}

// Revoke revokes one of the caller's tokens at once.
func (s *Service) Revoke(ctx context.Context, p identity.Principal, id string) error {
	ok, err := s.store.Revoke(ctx, p.UserID, id, ReasonRevokedByUser, s.clock())
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	s.record(ctx, audit.Entry{ActorID: p.UserID, Action: "pat.revoked", TargetType: "access_token", TargetID: id})
	return nil
}

// Authenticate checks a token on every request, with no cache, so that a
// revoked token, an expired one or a deactivated account is refused at once
// on every instance. A malformed token or a wrong checksum is refused
// without a database read.
func (s *Service) Authenticate(ctx context.Context, token string) (identity.Principal, error) {
	if !Valid(token) {
		return identity.Principal{}, ErrInvalidToken
	}
	st, err := s.store.State(ctx, hash(token))
	if errors.Is(err, ErrNotFound) {
		return identity.Principal{}, ErrInvalidToken
	}
	if err != nil {
		return identity.Principal{}, err
	}
	now := s.clock()
	if st.RevokedAt != nil || !now.Before(st.ExpiresAt) || !st.IsActive {
		return identity.Principal{}, ErrInvalidToken
	}
	if st.LastUsedAt == nil || now.Sub(*st.LastUsedAt) >= touchInterval {
		if err := s.store.Touch(ctx, st.ID, now, now.Add(-touchInterval)); err != nil {
			s.log.WarnContext(ctx, "recording an access token's use failed", "token_id", st.ID, "err", err)
		}
	}
	return identity.Principal{UserID: st.UserID, Role: st.Role, TokenID: st.ID, Scopes: st.Scopes}, nil
}
