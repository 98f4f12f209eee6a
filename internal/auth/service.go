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
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"secureapi/internal/audit"
	"secureapi/internal/mail"
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
	DefaultRefreshTTL     = 30 * 24 * time.Hour
	DefaultReuseGrace     = 10 * time.Second
	DefaultMaxFailures    = 5
	DefaultFailureWindow  = 15 * time.Minute
	DefaultLockout        = 15 * time.Minute
	DefaultResetTTL       = 30 * time.Minute
	DefaultEmailChangeTTL = time.Hour
	DefaultVerifyTTL      = 24 * time.Hour
)

// Session revocation reasons stored with the session.
const (
	ReasonLogout        = "logout"
	ReasonRefreshReuse  = "refresh_reuse"
	ReasonPasswordReset = "password_reset"
	ReasonRevokedByUser = "revoked_by_user"
	ReasonEmailChanged  = "email_changed"
	// ReasonPasswordChanged ends the other sessions of an account whose
	// password its owner changed.
	ReasonPasswordChanged = "password_changed"
)

// Audit actions of credentials.
const (
	ActionRegistered       = "user.registered"
	ActionRegisterExisting = "user.register_existing_email"
	ActionAdminCreated     = "user.admin_created"
	ActionPasswordChanged  = "user.password_changed"
	ActionResetRequested   = "user.password_reset_requested"
	ActionPasswordReset    = "user.password_reset"
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
	// EmailChangeTTL and VerifyTTL are the lifetimes of the links that
	// confirm a new address and verify an account's address.
	EmailChangeTTL time.Duration
	VerifyTTL      time.Duration
	// RequireVerifiedEmail refuses logins of accounts whose address is not
	// verified, and makes registration answer alike for new and taken
	// addresses.
	RequireVerifiedEmail bool
	// PublicBaseURL is where the web pages live that mailed links open,
	// e.g. PublicBaseURL + "/reset-password#token=...".
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
	if c.EmailChangeTTL <= 0 {
		c.EmailChangeTTL = DefaultEmailChangeTTL
	}
	if c.VerifyTTL <= 0 {
		c.VerifyTTL = DefaultVerifyTTL
	}
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	if c.MFAIssuer == "" {
		c.MFAIssuer = DefaultMFAIssuer
	}
	return c
}

// Deps are the service's collaborators. Users and Sessions serve single
// statements; Tx runs every change of several rows as one unit of work. Mail
// queues messages into the outbox inside those units. Audit, Now and Log may
// be nil (no audit, time.Now, a discarding logger); so may MFA (no second
// factors) and Secrets (no TOTP enrolment).
type Deps struct {
	Users    user.Store
	Sessions Store
	Tx       UnitOfWork
	Audit    *audit.Service
	Mail     *mail.Queue
	Hasher   *password.Hasher
	Policy   password.Policy
	Tokens   *token.Issuer
	Config   Config
	Now      func() time.Time
	Log      *slog.Logger
	MFA      MFAStore
	// Secrets seals TOTP seeds (FIELD_ENCRYPTION_KEYS).
	Secrets *fieldcrypt.Ring
	// View caches the state of live sessions; nil reads it from the
	// database on every request.
	View *View
}

// Service owns credentials: registration and admin creation, passwords
// (login, change, reset), sessions and their tokens, and the mailed links
// that prove an address.
type Service struct {
	users    user.Store
	sessions Store
	tx       UnitOfWork
	audit    *audit.Service
	mail     *mail.Queue
	hasher   *password.Hasher
	policy   password.Policy
	tokens   *token.Issuer
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	throttle *throttle
	mfa      MFAStore
	secrets  *fieldcrypt.Ring
	view     *View
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
	if d.Mail == nil {
		d.Mail = mail.NewQueue(mail.QueueConfig{Audit: d.Audit, Log: d.Log, Now: d.Now})
	}
	return &Service{
		users: d.Users, sessions: d.Sessions, tx: d.Tx, audit: d.Audit, mail: d.Mail, hasher: d.Hasher,
		policy: d.Policy, tokens: d.Tokens, cfg: cfg, now: d.Now, log: d.Log,
		mfa: d.MFA, secrets: d.Secrets, view: d.View,
		throttle: &throttle{
			store: d.Sessions, tx: d.Tx, max: int64(cfg.MaxFailures), window: cfg.FailureWindow, lockout: cfg.Lockout,
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

// Register creates an account with the user role and mails it a
// verification link, in one transaction. With RequireVerifiedEmail on, a
// taken address is not an error: the answer (accepted, no account returned)
// is the same as for a new one, after the same work (the password hashed, a
// mail queued, an event audited), and the address's owner gets a mail saying
// an account exists, so registering cannot test which addresses have
// accounts. Otherwise a taken address is user.ErrEmailTaken. A taken
// username is always a conflict.
func (s *Service) Register(ctx context.Context, rawEmail, rawUsername, pw string, displayName *string) (user.User, error) {
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
		owner, err := st.Users().ByEmail(ctx, string(email))
		switch {
		case err == nil && s.cfg.RequireVerifiedEmail:
			if err := s.mail.Add(ctx, st, s.accountExistsMessage(owner.Email)); err != nil {
				return err
			}
			return s.recordIn(ctx, st, audit.Entry{
				Action: ActionRegisterExisting, Outcome: audit.Failure, TargetType: "user", TargetID: owner.ID,
			})
		case err == nil:
			return user.ErrEmailTaken
		case !errors.Is(err, user.ErrNotFound):
			return err
		}
		if u, err = st.Users().Create(ctx, user.User{
			ID: id.String(), Email: string(email), Username: string(username), DisplayName: displayName,
			PasswordHash: hash, Role: user.RoleUser, IsActive: true, CreatedAt: now, UpdatedAt: now,
		}); err != nil {
			return err
		}
		if err := s.queueVerification(ctx, st, u, now); err != nil {
			return err
		}
		return s.recordIn(ctx, st, audit.Entry{ActorID: u.ID, Action: ActionRegistered, TargetType: "user", TargetID: u.ID})
	})
	if errors.Is(err, user.ErrEmailTaken) && s.cfg.RequireVerifiedEmail {
		// Registered by a concurrent request since the lookup: the same
		// answer as for any taken address.
		return user.User{}, nil
	}
	if err != nil {
		return user.User{}, err
	}
	s.mail.Wake()
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

// Busy refuses, with the same 429 as the operation itself, a request that
// would hash a password while the hasher is saturated; nil otherwise.
func (s *Service) Busy() error { return s.hashErr(s.hasher.Admits()) }

// hashErr turns a hasher failure into a client answer: saturation is a
// retryable 429, anything else stays internal.
func (s *Service) hashErr(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return errBusy
	}
	return err
}

// Login checks email and password and starts a session.
func (s *Service) Login(ctx context.Context, email, pw string) (Tokens, error) {
	email = user.NormalizeEmail(email)
	now := s.clock()
	var (
		u      user.User
		known  bool
		rehash bool
	)
	// Admission first: in a login flood the callers the hasher cannot take
	// are refused before they cost a database write.
	hr, err := s.hasher.Reserve()
	if err != nil {
		return Tokens{}, s.hashErr(err)
	}
	defer hr.Release()
	match, takeBack, err := s.attempt(ctx, throttleKey(email), now, func() (bool, error) {
		var err error
		u, err = s.users.ByEmail(ctx, email)
		if errors.Is(err, user.ErrNotFound) {
			// The same Argon2id work as for a real account, so the response
			// time does not reveal whether the account exists.
			return false, hr.DummyVerify(ctx, pw)
		}
		if err != nil {
			return false, err
		}
		known = true
		var ok bool
		ok, rehash, err = s.verifyHash(ctx, hr, u, pw)
		return ok, err
	})
	// The place goes to the next caller now; a rehash below is optional
	// work that asks for a place of its own.
	hr.Release()
	if err != nil {
		if _, locked := errors.AsType[*lockedError](err); locked {
			s.loginFailed(ctx, "", email, "locked")
		}
		return Tokens{}, err
	}
	switch {
	case !known:
		s.loginFailed(ctx, "", email, "unknown_account")
		return Tokens{}, ErrInvalidCredentials
	case !match:
		s.loginFailed(ctx, u.ID, email, "bad_password")
		return Tokens{}, ErrInvalidCredentials
	case !u.IsActive:
		s.loginFailed(ctx, u.ID, email, "inactive")
		return Tokens{}, ErrInvalidCredentials
	case s.cfg.RequireVerifiedEmail && u.EmailVerifiedAt == nil:
		// The right password proves the caller may hear that the address
		// is unproven; a fresh link lets them out (the old one may be lost
		// or expired).
		if err := s.throttle.clear(ctx, throttleKey(email)); err != nil {
			s.log.ErrorContext(ctx, "clearing the login throttle failed", "err", err)
		}
		s.loginFailed(ctx, u.ID, email, "email_unverified")
		if err := s.sendVerification(ctx, u, now); err != nil {
			s.log.ErrorContext(ctx, "queuing a verification mail failed", "user_id", u.ID, "err", err)
		}
		return Tokens{}, ErrEmailUnverified
	}
	if mfa, err := s.mfaOn(ctx, u.ID); err != nil || mfa {
		// The password alone completes nothing: this attempt is taken back,
		// but earlier failures stay, so re-entering the password never buys
		// more guesses at the second factor.
		takeBack()
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

	if err := s.throttle.clear(ctx, throttleKey(email)); err != nil {
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

// guarded runs check, a password verification, under the failed-attempt
// budget of key: refused with a 429 while key is locked, counted before it
// runs, and refunded when it could not run (hasher saturated, request
// cancelled, database failing), so that load or errors never lock anyone
// out. A check that ran and failed stays counted; the caller clears key on
// success. Callers take their hashing reservation first, so that a
// saturated hasher refuses them without counting anything.
func (s *Service) guarded(ctx context.Context, key string, now time.Time, check func() (bool, error)) (bool, error) {
	ok, _, err := s.attempt(ctx, key, now, check)
	return ok, err
}

// attempt is guarded that also returns takeBack, which refunds this
// attempt like one that could not run. The first step of a two-factor login
// uses it: a right password completes nothing by itself, so it must not
// count as a failure, nor clear the failures before it (re-entering the
// password would then buy more guesses at the second factor).
func (s *Service) attempt(ctx context.Context, key string, now time.Time, check func() (bool, error)) (ok bool, takeBack func(), err error) {
	adm, err := s.throttle.admit(ctx, key, now)
	if err != nil {
		return false, nil, err
	}
	if adm.lockedFor > 0 {
		return false, nil, errLocked(adm.lockedFor)
	}
	refund := func() {
		if rerr := s.throttle.refund(context.WithoutCancel(ctx), key, adm); rerr != nil {
			s.log.ErrorContext(ctx, "refunding a password attempt failed", "err", rerr)
		}
	}
	ok, err = check()
	if err != nil {
		refund()
		return false, nil, s.hashErr(err)
	}
	return ok, refund, nil
}

// verifyHash checks pw against u's stored hash within hr. A malformed
// stored hash fails closed: it never matches.
func (s *Service) verifyHash(ctx context.Context, hr *password.Reservation, u user.User, pw string) (match, rehash bool, err error) {
	match, rehash, err = hr.Verify(ctx, pw, u.PasswordHash)
	if errors.Is(err, password.ErrMalformedHash) {
		s.log.ErrorContext(ctx, "stored password hash is malformed", "user_id", u.ID)
		return false, false, nil
	}
	return match, rehash, err
}

// CheckPassword checks the current password of u before a sensitive change
// (password, address, deletion). It spends the same failure budget as
// logging in, so a stolen access token does not buy unlimited guesses: wrong
// guesses here and at login together lock the account. A wrong password is
// user.ErrWrongPassword; a locked account a 429 with Retry-After.
func (s *Service) CheckPassword(ctx context.Context, u user.User, pw string) error {
	hr, err := s.hasher.Reserve()
	if err != nil {
		return s.hashErr(err)
	}
	defer hr.Release()
	return s.checkPassword(ctx, hr, u, pw)
}

// checkPassword is CheckPassword within a reservation the caller holds.
func (s *Service) checkPassword(ctx context.Context, hr *password.Reservation, u user.User, pw string) error {
	key := throttleKey(u.Email)
	match, err := s.guarded(ctx, key, s.clock(), func() (bool, error) {
		ok, _, err := s.verifyHash(ctx, hr, u, pw)
		return ok, err
	})
	if err != nil {
		if _, locked := errors.AsType[*lockedError](err); locked {
			s.passwordCheckFailed(ctx, u.ID, "locked")
		}
		return err
	}
	if !match {
		s.passwordCheckFailed(ctx, u.ID, "bad_password")
		return user.ErrWrongPassword
	}
	if err := s.throttle.clear(ctx, key); err != nil {
		s.log.ErrorContext(ctx, "clearing the login throttle failed", "err", err)
	}
	return nil
}

func (s *Service) passwordCheckFailed(ctx context.Context, userID, reason string) {
	s.record(ctx, audit.Entry{
		ActorID: userID, Action: "auth.password_check.failed", Outcome: audit.Failure, TargetType: "user", TargetID: userID,
		Details: map[string]any{"reason": reason},
	})
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
	err = s.tx.InTx(ctx, func(st Stores) error {
		tx := st.Credentials()
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
		err = s.tx.InTx(ctx, func(st Stores) error {
			tx := st.Credentials()
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
	now := s.clock()
	if s.view != nil {
		if st, ok := s.view.lookup(claims.SessionID); ok && now.Before(st.ExpiresAt) {
			return principal(st, claims)
		}
	}
	var gen uint64
	if s.view != nil {
		gen = s.view.generation()
	}
	st, err := s.liveState(ctx, claims.SessionID, now)
	if err != nil {
		return Principal{}, err
	}
	if s.view != nil {
		s.view.store(gen, claims.SessionID, st)
	}
	return principal(st, claims)
}

// Profile returns the caller's account as its owner sees it, from the view
// when it holds it.
func (s *Service) Profile(ctx context.Context, p Principal) (Profile, error) {
	var gen uint64
	if s.view != nil {
		if pr, ok := s.view.profile(p.UserID); ok {
			return pr, nil
		}
		gen = s.view.generation()
	}
	u, err := user.Self(ctx, s.users, p)
	if err != nil {
		return Profile{}, err
	}
	on, err := s.mfaOn(ctx, u.ID)
	if err != nil {
		return Profile{}, err
	}
	pr := Profile{User: u, MFAEnabled: on}
	if s.view != nil {
		s.view.storeProfile(gen, pr)
	}
	return pr, nil
}

// principal is the caller of a live session's access token.
func principal(st State, claims token.Claims) (Principal, error) {
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

// record appends an audit event of its own, for attempts that change
// nothing (failed logins) and single-statement changes. It survives a
// client that hangs up, because the action it records has already happened.
// A failure is logged by the audit service and does not undo the action.
func (s *Service) record(ctx context.Context, e audit.Entry) {
	if s.audit == nil {
		return
	}
	_ = s.audit.Record(context.WithoutCancel(ctx), e)
}

// recordIn appends an audit event in st's transaction, so that the event and
// the change it describes commit together or not at all. Call it last in
// the unit of work (see audit.Service.RecordIn).
func (s *Service) recordIn(ctx context.Context, st Stores, e audit.Entry) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.RecordIn(ctx, st.Audit(), e)
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
