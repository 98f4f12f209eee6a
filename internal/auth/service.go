package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"secureapi/internal/audit"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/fieldcrypt"
	"secureapi/internal/platform/logging"
	"secureapi/internal/platform/password"
	"secureapi/internal/platform/reqinfo"
	"secureapi/internal/platform/token"
	"secureapi/internal/user"
)

// Defaults for zero Config fields.
const (
	DefaultRefreshTTL    = 30 * 24 * time.Hour
	DefaultReuseGrace    = 10 * time.Second
	DefaultMaxFailures   = 5
	DefaultFailureWindow = 15 * time.Minute
	DefaultLockout       = 15 * time.Minute
	DefaultResetTTL      = 30 * time.Minute
)

// Session revocation reasons stored with the session.
const (
	ReasonLogout        = "logout"
	ReasonRefreshReuse  = "refresh_reuse"
	ReasonPasswordReset = "password_reset"
	ReasonRevokedByUser = "revoked_by_user"
)

// Config tunes the service. Zero fields take the Default* values; a negative
// ReuseGrace disables the grace period.
type Config struct {
	// RefreshTTL is a session's absolute lifetime: refreshing does not extend it.
	RefreshTTL time.Duration
	// ReuseGrace is how long after a rotation the previous refresh token
	// still yields an access token (but no new refresh token), so that two
	// tabs or a retried request racing on one cookie do not log the user
	// out. Any older token, or the previous one after the grace, is reuse
	// and revokes the session.
	ReuseGrace    time.Duration
	MaxFailures   int
	FailureWindow time.Duration
	Lockout       time.Duration
	ResetTTL      time.Duration
	// PublicBaseURL is where the web front end lives; reset links point at
	// PublicBaseURL + "/reset-password?token=...".
	PublicBaseURL string
	// MFAIssuer names the service in authenticator apps.
	MFAIssuer string
}

func (c Config) withDefaults() Config {
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = DefaultRefreshTTL
	}
	switch {
	case c.ReuseGrace == 0:
		c.ReuseGrace = DefaultReuseGrace
	case c.ReuseGrace < 0:
		c.ReuseGrace = 0
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	if c.FailureWindow <= 0 {
		c.FailureWindow = DefaultFailureWindow
	}
	if c.Lockout <= 0 {
		c.Lockout = DefaultLockout
	}
	if c.ResetTTL <= 0 {
		c.ResetTTL = DefaultResetTTL
	}
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	if c.MFAIssuer == "" {
		c.MFAIssuer = DefaultMFAIssuer
	}
	return c
}

// Deps are the service's collaborators. Audit, Mailer, Now and Log may be nil
// (no audit, no mail, time.Now, a discarding logger); so may MFA (no second
// factors), Secrets (no TOTP enrolment) and AccessTokens (none to revoke).
type Deps struct {
	Users    user.Store
	Sessions Store
	Audit    *audit.Service
	Hasher   *password.Hasher
	Policy   password.Policy
	Tokens   *token.Issuer
	Mailer   Mailer
	Config   Config
	Now      func() time.Time
	Log      *slog.Logger
	MFA      MFAStore
	// Secrets seals TOTP seeds (FIELD_ENCRYPTION_KEYS).
	Secrets *fieldcrypt.Ring
	// AccessTokens are revoked with the sessions when a password is reset.
	AccessTokens TokenRevoker
}

// TokenRevoker revokes every personal access token of an account.
type TokenRevoker interface {
	RevokeAll(ctx context.Context, userID, reason string) (int, error)
}

// Service implements registration, login, token refresh, sessions and
// password reset.
type Service struct {
	users    user.Store
	sessions Store
	audit    *audit.Service
	hasher   *password.Hasher
	policy   password.Policy
	tokens   *token.Issuer
	mailer   Mailer
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	throttle *throttle
	mfa      MFAStore
	secrets  *fieldcrypt.Ring
	pats     TokenRevoker
}

// NewService returns a Service over d.
func NewService(d Deps) *Service {
	cfg := d.Config.withDefaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{
		users: d.Users, sessions: d.Sessions, audit: d.Audit, hasher: d.Hasher, policy: d.Policy,
		tokens: d.Tokens, mailer: d.Mailer, cfg: cfg, now: d.Now, log: d.Log,
		mfa: d.MFA, secrets: d.Secrets, pats: d.AccessTokens,
		throttle: &throttle{
			store: d.Sessions, max: int64(cfg.MaxFailures), window: cfg.FailureWindow, lockout: cfg.Lockout,
		},
	}
}

// Tokens is the result of a login or refresh. RefreshToken is empty when no
// new refresh token was issued (a refresh within the reuse grace): the
// client keeps the cookie it has. When MFAToken is set the login is not
// complete: no session exists yet and VerifyMFA takes it from there.
type Tokens struct {
	AccessToken  string
	ExpiresIn    int
	RefreshToken string
	MFAToken     string
	MFAExpiresIn int
}

// clock returns the current time as both engines store it (UTC,
// microseconds), so values compare equal after a round trip.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// NormalizeEmail is the stored form of an email address.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// NormalizeUsername is the stored form of a username.
func NormalizeUsername(username string) string { return strings.ToLower(strings.TrimSpace(username)) }

var usernamePattern = regexp.MustCompile(`^[a-z0-9_.-]{3,32}$`)

// Register creates an account with the user role.
func (s *Service) Register(ctx context.Context, email, username, pw string, displayName *string) (user.User, error) {
	email, username = NormalizeEmail(email), NormalizeUsername(username)
	// The HTTP layer validates these against the spec already; the checks
	// here hold the rules for every other caller.
	if len(email) > 254 || !strings.Contains(email, "@") {
		return user.User{}, apperr.Field("body", "email", "must be a valid email address")
	}
	if !usernamePattern.MatchString(username) {
		return user.User{}, apperr.Field("body", "username", "must be 3 to 32 letters, digits, '_', '.' or '-'")
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
	u, err := s.users.Create(ctx, user.User{
		ID: id.String(), Email: email, Username: username, DisplayName: displayName,
		PasswordHash: hash, Role: user.RoleUser, IsActive: true, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return user.User{}, err
	}
	s.record(ctx, audit.Entry{ActorID: u.ID, Action: "user.registered", TargetType: "user", TargetID: u.ID})
	return u, nil
}

func (s *Service) checkPolicy(field, pw string) error {
	if err := s.policy.Check(pw); err != nil {
		var pe *password.PolicyError
		if errors.As(err, &pe) {
			return apperr.Field("body", field, pe.Msg)
		}
		return err
	}
	return nil
}

// hashErr turns a hasher failure into a client answer: saturation is a
// retryable 503, anything else stays internal.
func (s *Service) hashErr(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return errBusy
	}
	return err
}

// Login checks email and password and starts a session.
func (s *Service) Login(ctx context.Context, email, pw string) (Tokens, error) {
	email = NormalizeEmail(email)
	key := throttleKey(email)
	now := s.clock()
	adm, err := s.throttle.admit(ctx, key, now)
	if err != nil {
		return Tokens{}, err
	}
	if adm.lockedFor > 0 {
		s.loginFailed(ctx, "", email, "locked")
		return Tokens{}, errLocked(adm.lockedFor)
	}
	// Until the password has really been checked, leaving refunds the
	// attempt: saturation or a failing database must not lock anyone out.
	checked := false
	defer func() {
		if !checked {
			if err := s.throttle.refund(context.WithoutCancel(ctx), key, adm); err != nil {
				s.log.ErrorContext(ctx, "refunding a login attempt failed", "err", err)
			}
		}
	}()

	u, err := s.users.ByEmail(ctx, email)
	if errors.Is(err, user.ErrNotFound) {
		// The same Argon2id work as for a real account, so the response
		// time does not reveal whether the account exists.
		if err := s.hasher.DummyVerify(ctx, pw); err != nil {
			return Tokens{}, s.hashErr(err)
		}
		checked = true
		s.loginFailed(ctx, "", email, "unknown_account")
		return Tokens{}, ErrInvalidCredentials
	}
	if err != nil {
		return Tokens{}, err
	}
	match, rehash, err := s.hasher.Verify(ctx, pw, u.PasswordHash)
	if errors.Is(err, password.ErrMalformedHash) {
		// A broken row must fail closed, never open.
		s.log.ErrorContext(ctx, "stored password hash is malformed", "user_id", u.ID)
		match, err = false, nil
	}
	if err != nil {
		return Tokens{}, s.hashErr(err)
	}
	checked = true
	if !match {
		s.loginFailed(ctx, u.ID, email, "bad_password")
		return Tokens{}, ErrInvalidCredentials
	}
	if !u.IsActive {
		s.loginFailed(ctx, u.ID, email, "inactive")
		return Tokens{}, ErrInvalidCredentials
	}
	if mfa, err := s.mfaOn(ctx, u.ID); err != nil || mfa {
		// The password alone completes nothing: this attempt is taken back,
		// but earlier failures stay, so re-entering the password never buys
		// more guesses at the second factor.
		checked = false
		if err != nil {
			return Tokens{}, err
		}
		fingerprinted := u.PasswordHash
		if rehash {
			if h := s.rehash(ctx, u.ID, pw); h != "" {
				fingerprinted = h
			}
		}
		return s.beginSecondFactor(ctx, u, fingerprinted, now)
	}

	if err := s.throttle.clear(ctx, key); err != nil {
		s.log.ErrorContext(ctx, "clearing the login throttle failed", "err", err)
	}
	if rehash {
		s.rehash(ctx, u.ID, pw)
	}
	toks, sid, err := s.startSession(ctx, u.ID, now)
	if err != nil {
		return Tokens{}, err
	}
	s.record(ctx, audit.Entry{
		ActorID: u.ID, Action: "auth.login.succeeded", TargetType: "session", TargetID: sid,
		Details: map[string]any{"email": logging.MaskEmail(email)},
	})
	return toks, nil
}

// rehash stores a hash of pw made with the current parameters and returns
// it. Failing is harmless (the old hash still verifies), so it is only
// logged and "" returned.
func (s *Service) rehash(ctx context.Context, userID, pw string) string {
	hash, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		err = s.users.SetPasswordHash(ctx, userID, hash, s.clock())
	}
	if err != nil {
		s.log.WarnContext(ctx, "upgrading a password hash failed", "user_id", userID, "err", err)
		return ""
	}
	return hash
}

func (s *Service) loginFailed(ctx context.Context, userID, email, reason string) {
	s.record(ctx, audit.Entry{
		ActorID: userID, Action: "auth.login.failed", Outcome: audit.Failure,
		Details: map[string]any{"reason": reason, "email": logging.MaskEmail(email)},
	})
}

// startSession creates a session and its first refresh token in one
// transaction, then issues an access token for it.
func (s *Service) startSession(ctx context.Context, userID string, now time.Time) (Tokens, string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Tokens{}, "", err
	}
	refresh, refreshHash, err := newSecret()
	if err != nil {
		return Tokens{}, "", err
	}
	info := reqinfo.From(ctx)
	sess := Session{
		ID: id.String(), UserID: userID, UserAgent: clip(info.UserAgent, 512), IP: info.IP,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL),
	}
	err = s.sessions.InTx(ctx, func(tx Store) error {
		if _, err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		return tx.InsertRefreshToken(ctx, RefreshToken{Hash: refreshHash, SessionID: sess.ID, IssuedAt: now})
	})
	if err != nil {
		return Tokens{}, "", err
	}
	toks, err := s.issue(userID, sess.ID)
	if err != nil {
		return Tokens{}, "", err
	}
	toks.RefreshToken = refresh
	return toks, sess.ID, nil
}

func (s *Service) issue(userID, sessionID string) (Tokens, error) {
	access, claims, err := s.tokens.Issue(userID, sessionID)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, ExpiresIn: int(claims.Expires.Sub(claims.IssuedAt) / time.Second)}, nil
}

// Refresh exchanges a refresh token for a new access token and, when the
// token is the session's current one, a new refresh token.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	if refreshToken == "" || len(refreshToken) > 200 {
		return Tokens{}, ErrInvalidRefresh
	}
	hash := hashSecret(refreshToken)
	rt, err := s.sessions.RefreshToken(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return Tokens{}, ErrInvalidRefresh
	}
	if err != nil {
		return Tokens{}, err
	}
	now := s.clock()
	st, err := s.liveState(ctx, rt.SessionID, now)
	if err != nil {
		if errors.Is(err, ErrUnauthorized) {
			return Tokens{}, ErrInvalidRefresh
		}
		return Tokens{}, err
	}

	if rt.ReplacedAt == nil {
		next, nextHash, err := newSecret()
		if err != nil {
			return Tokens{}, err
		}
		info := reqinfo.From(ctx)
		rotated := false
		err = s.sessions.InTx(ctx, func(tx Store) error {
			ok, err := tx.MarkReplaced(ctx, hash, now)
			if err != nil || !ok {
				return err
			}
			if err := tx.InsertRefreshToken(ctx, RefreshToken{Hash: nextHash, SessionID: rt.SessionID, IssuedAt: now}); err != nil {
				return err
			}
			rotated = true
			return tx.TouchSession(ctx, rt.SessionID, info.IP, clip(info.UserAgent, 512), now)
		})
		if err != nil {
			return Tokens{}, err
		}
		if rotated {
			toks, err := s.issue(st.UserID, rt.SessionID)
			toks.RefreshToken = next
			return toks, err
		}
		// Another request rotated this token first: judge it like any
		// already-rotated token (normally the grace path below).
		if rt, err = s.sessions.RefreshToken(ctx, hash); err != nil {
			return Tokens{}, err
		}
		if rt.ReplacedAt == nil {
			return Tokens{}, fmt.Errorf("refresh token %.8s neither current nor replaced", hash)
		}
	}

	if s.withinGrace(ctx, rt, now) {
		return s.issue(st.UserID, rt.SessionID)
	}
	if _, err := s.sessions.RevokeSession(ctx, st.UserID, rt.SessionID, ReasonRefreshReuse, now); err != nil {
		return Tokens{}, err
	}
	s.log.WarnContext(ctx, "refresh token reuse detected; session revoked", "session_id", rt.SessionID)
	s.record(ctx, audit.Entry{
		ActorID: st.UserID, Action: "auth.refresh.reuse_detected", TargetType: "session", TargetID: rt.SessionID,
		Outcome: audit.Failure,
	})
	return Tokens{}, ErrInvalidRefresh
}

// withinGrace reports whether the replaced token rt is the session's
// immediately previous token and was replaced less than ReuseGrace ago.
func (s *Service) withinGrace(ctx context.Context, rt RefreshToken, now time.Time) bool {
	if s.cfg.ReuseGrace <= 0 || now.Sub(*rt.ReplacedAt) > s.cfg.ReuseGrace {
		return false
	}
	cur, err := s.sessions.CurrentRefreshToken(ctx, rt.SessionID)
	if err != nil {
		// No current token (or no answer): nothing proves this is a
		// harmless race, so it counts as reuse.
		return false
	}
	// A rotation writes the old token's replaced_at and the new token's
	// issued_at from one clock reading.
	d := cur.IssuedAt.Sub(*rt.ReplacedAt)
	return d > -time.Millisecond && d < time.Millisecond
}

// liveState returns the state of a session that may be used now, or ErrUnauthorized.
func (s *Service) liveState(ctx context.Context, sessionID string, now time.Time) (State, error) {
	st, err := s.sessions.State(ctx, sessionID)
	if errors.Is(err, ErrNotFound) {
		return State{}, ErrUnauthorized
	}
	if err != nil {
		return State{}, err
	}
	if st.RevokedAt != nil || !now.Before(st.ExpiresAt) || !st.IsActive {
		return State{}, ErrUnauthorized
	}
	return st, nil
}

// Logout revokes the session of refreshToken. Unknown, empty or already
// revoked tokens are not an error: the caller is logged out either way.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	if refreshToken == "" || len(refreshToken) > 200 {
		return nil
	}
	rt, err := s.sessions.RefreshToken(ctx, hashSecret(refreshToken))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	sess, err := s.sessions.Session(ctx, rt.SessionID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	revoked, err := s.sessions.RevokeSession(ctx, sess.UserID, sess.ID, ReasonLogout, s.clock())
	if err != nil {
		return err
	}
	if revoked {
		s.record(ctx, audit.Entry{ActorID: sess.UserID, Action: "auth.logout", TargetType: "session", TargetID: sess.ID})
	}
	return nil
}

// Authenticate verifies an access token and checks its session on every
// call, with no cache, so that a revoked session or deactivated account is
// refused at once on every instance.
func (s *Service) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	if bearer == "" {
		return Principal{}, ErrUnauthorized
	}
	claims, err := s.tokens.Verify(bearer)
	if err != nil {
		return Principal{}, ErrUnauthorized
	}
	st, err := s.liveState(ctx, claims.SessionID, s.clock())
	if err != nil {
		return Principal{}, err
	}
	if st.UserID != claims.Subject {
		return Principal{}, ErrUnauthorized
	}
	return Principal{UserID: st.UserID, SessionID: claims.SessionID, Role: st.Role}, nil
}

// Sessions returns the caller's active sessions, newest first.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]Session, error) {
	return s.sessions.ActiveSessions(ctx, p.UserID, s.clock())
}

// RevokeSession revokes one of the caller's sessions (the current one
// included). Another account's session, or an unknown one, is ErrNotFound.
func (s *Service) RevokeSession(ctx context.Context, p Principal, id string) error {
	ok, err := s.sessions.RevokeSession(ctx, p.UserID, id, ReasonRevokedByUser, s.clock())
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	s.record(ctx, audit.Entry{ActorID: p.UserID, Action: "session.revoked", TargetType: "session", TargetID: id})
	return nil
}

// RevokeOtherSessions revokes every session of the caller except the current one.
func (s *Service) RevokeOtherSessions(ctx context.Context, p Principal) error {
	ids, err := s.sessions.RevokeUserSessions(ctx, p.UserID, p.SessionID, ReasonRevokedByUser, s.clock())
	if err != nil {
		return err
	}
	s.record(ctx, audit.Entry{
		ActorID: p.UserID, Action: "session.revoked", TargetType: "user", TargetID: p.UserID,
		Details: map[string]any{"count": len(ids), "scope": "others"},
	})
	return nil
}

// record appends an audit event. It runs outside any transaction (SQLite has
// one writer connection) and survives a client that hangs up, because the
// action it records has already happened. A failure is logged by the audit
// service and does not undo the action.
func (s *Service) record(ctx context.Context, e audit.Entry) {
	if s.audit == nil {
		return
	}
	_ = s.audit.Record(context.WithoutCancel(ctx), e)
}

// newSecret returns a random opaque token (32 bytes, base64url) and the hash
// that is stored in its place.
func newSecret() (plain, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	plain = base64.RawURLEncoding.EncodeToString(b)
	return plain, hashSecret(plain), nil
}

// hashSecret is the stored form of a refresh or reset token. The tokens carry
// 256 random bits, so a fast hash is enough: there is nothing to brute-force.
func hashSecret(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// clip shortens s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
