package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"time"

	"secureapi/internal/audit"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/logging"
	"secureapi/internal/platform/totp"
	"secureapi/internal/user"
)

// Two-factor authentication with TOTP (RFC 6238) and recovery codes.
//
// A login of an account with a confirmed factor stops after the password
// with a short-lived, single-use MFA token; VerifyMFA completes it with a
// current code or a recovery code. Every check of a code or a password here
// counts against the account's login failure budget (the throttle), so a
// second factor cannot be guessed faster than a password, and the password
// step never resets that count.

const (
	// MFAChallengeTTL is how long the MFA token of a login stays valid.
	MFAChallengeTTL = 5 * time.Minute
	// DefaultMFAIssuer names the service in authenticator apps.
	DefaultMFAIssuer = "Secure API"
	// rotateBatch bounds how many seeds one transaction re-encrypts.
	rotateBatch = 100
)

// Session revocation reasons of MFA changes.
const (
	ReasonMFAEnabled  = "mfa_enabled"
	ReasonMFADisabled = "mfa_disabled"
	ReasonMFAReset    = "mfa_reset"
)

// Second-factor methods, as audited.
const (
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
)

var (
	// ErrInvalidMFAToken answers a second login step whose token is unknown,
	// spent, expired, or from before a password change.
	ErrInvalidMFAToken = apperr.New(apperr.Unauthorized, "The MFA token is invalid or has expired. Log in again.")
	// ErrInvalidMFACode answers a second login step with a wrong, reused or
	// expired code or recovery code.
	ErrInvalidMFACode = apperr.New(apperr.Unauthorized, "Invalid authentication code.")
	// ErrWrongSecondFactor answers an account change whose code or recovery code is wrong.
	ErrWrongSecondFactor = apperr.New(apperr.Forbidden, "The authentication code is incorrect.")
	ErrMFAEnabled        = apperr.New(apperr.Conflict, "Two-factor authentication is already enabled. Disable it first to enrol a new authenticator.")
	ErrMFANotEnabled     = apperr.New(apperr.Conflict, "Two-factor authentication is not enabled.")
	ErrMFANotPending     = apperr.New(apperr.Conflict, "There is no TOTP enrolment to confirm. Start one with POST /api/v1/users/me/mfa/totp.")
	ErrMFAUnavailable    = apperr.New(apperr.Unavailable, "Two-factor authentication is not configured on this server.")
	ErrNoMFAToReset      = apperr.New(apperr.NotFound, "This account has no second factor.")
	ErrSelfMFAReset      = apperr.New(apperr.Forbidden, "Disable your own second factor with POST /api/v1/users/me/mfa/totp/disable.")
	errConfirmCode       = apperr.Field("body", "code", "does not match; check that the authenticator's clock is right and enter the current code")
	errOneSecondFactor   = apperr.Field("body", "", "give exactly one of code and recovery_code")
)

// Enrolment is a new, still pending TOTP factor: what the user's
// authenticator needs. QRCode is a PNG data: URL, empty if it could not be made.
type Enrolment struct {
	Secret string
	URI    string
	QRCode string
}

// MFAStatus is what an account has set up.
type MFAStatus struct {
	Enabled           bool
	Pending           bool
	EnabledAt         *time.Time
	RecoveryCodesLeft int
}

// SecondFactor is a code or a recovery code; exactly one is set.
type SecondFactor struct {
	Code         string
	RecoveryCode string
}

func (f SecondFactor) valid() bool { return (f.Code == "") != (f.RecoveryCode == "") }

// RotationReport counts what RotateMFASecrets did.
type RotationReport struct {
	Checked, Resealed int
	// Failed lists the accounts whose seed could not be opened with the ring.
	Failed []string
}

// totpAAD binds a sealed seed to its column and account: a seed copied onto
// another account's row does not open there.
func totpAAD(userID string) []byte { return []byte("mfa_totp.secret:" + userID) }

// passwordFingerprint identifies a stored password hash without revealing
// it, so an MFA token dies with the password that earned it.
func passwordFingerprint(passwordHash string) string { return hashSecret("mfa:" + passwordHash) }

// mfaOn reports whether userID has a confirmed second factor.
func (s *Service) mfaOn(ctx context.Context, userID string) (bool, error) {
	if s.mfa == nil {
		return false, nil
	}
	t, err := s.mfa.TOTP(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && t.ConfirmedAt != nil, err
}

// MFAEnabled reports whether userID has a confirmed second factor (shown to
// the account and to admins, never the seed).
func (s *Service) MFAEnabled(ctx context.Context, userID string) (bool, error) {
	return s.mfaOn(ctx, userID)
}

// MFAEnabledAmong reports which of ids have a confirmed second factor, in
// one read (a page of accounts).
func (s *Service) MFAEnabledAmong(ctx context.Context, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if s.mfa == nil || len(ids) == 0 {
		return out, nil
	}
	on, err := s.mfa.ConfirmedTOTPInRange(ctx, slices.Min(ids), slices.Max(ids))
	if err != nil {
		return nil, err
	}
	for _, id := range on {
		out[id] = true
	}
	return out, nil
}

// MFAInUse counts the accounts with a confirmed factor; production refuses
// to start without FIELD_ENCRYPTION_KEYS when there are any.
func (s *Service) MFAInUse(ctx context.Context) (int64, error) {
	if s.mfa == nil {
		return 0, nil
	}
	return s.mfa.CountConfirmedTOTP(ctx)
}

// secondFactorAttempt runs check (a code, or a password and a code) as one
// attempt against the account's login failure budget (attempt): refused
// while locked, counted when it fails, refunded when it could not run. Right
// answers clear the budget, as a completed login does.
func (s *Service) secondFactorAttempt(ctx context.Context, u user.User, check func() (bool, error)) (bool, error) {
	key := throttleKey(u.Email)
	ok, _, err := s.attempt(ctx, key, s.clock(), check)
	if err == nil && ok {
		if cerr := s.throttle.clear(ctx, key); cerr != nil {
			s.log.ErrorContext(ctx, "clearing the login throttle failed", "err", cerr)
		}
	}
	return ok, err
}

// beginSecondFactor is the end of a password step whose account has a
// second factor: no session yet, only an MFA token bound to this password.
func (s *Service) beginSecondFactor(ctx context.Context, u user.User, passwordHash string, now time.Time) (Tokens, error) {
	plain, hash, err := newSecret()
	if err != nil {
		return Tokens{}, err
	}
	// Old challenges of the account go, so their rows never pile up.
	if err := s.mfa.DeleteSpentMFAChallenges(ctx, u.ID, now); err != nil {
		s.log.WarnContext(ctx, "deleting spent MFA challenges failed", "err", err)
	}
	err = s.mfa.CreateMFAChallenge(ctx, MFAChallenge{
		Hash: hash, UserID: u.ID, PasswordFP: passwordFingerprint(passwordHash),
		CreatedAt: now, ExpiresAt: now.Add(MFAChallengeTTL),
	})
	if err != nil {
		return Tokens{}, err
	}
	s.record(ctx, audit.Entry{
		ActorID: u.ID, Action: "auth.login.mfa_required", TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"email": logging.MaskEmail(u.Email)},
	})
	return Tokens{MFAToken: plain, MFAExpiresIn: int(MFAChallengeTTL / time.Second)}, nil
}

// VerifyMFA completes a login that stopped at the second factor and starts
// its session, exactly as a login without one would.
func (s *Service) VerifyMFA(ctx context.Context, mfaToken string, f SecondFactor) (Tokens, error) {
	if !f.valid() {
		return Tokens{}, errOneSecondFactor
	}
	if s.mfa == nil || mfaToken == "" || len(mfaToken) > 200 {
		return Tokens{}, ErrInvalidMFAToken
	}
	hash := hashSecret(mfaToken)
	now := s.clock()
	ch, err := s.mfa.MFAChallenge(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return Tokens{}, ErrInvalidMFAToken
	}
	if err != nil {
		return Tokens{}, err
	}
	if ch.UsedAt != nil || !now.Before(ch.ExpiresAt) {
		return Tokens{}, ErrInvalidMFAToken
	}
	u, err := s.users.ByID(ctx, ch.UserID)
	if errors.Is(err, user.ErrNotFound) {
		return Tokens{}, ErrInvalidMFAToken
	}
	if err != nil {
		return Tokens{}, err
	}
	// The gates of the password step hold here too: an account deactivated,
	// or whose address must be (re)verified, meanwhile does not get in.
	if !u.IsActive || (s.cfg.RequireVerifiedEmail && u.EmailVerifiedAt == nil) ||
		subtle.ConstantTimeCompare([]byte(ch.PasswordFP), []byte(passwordFingerprint(u.PasswordHash))) != 1 {
		return Tokens{}, ErrInvalidMFAToken
	}

	method := MethodTOTP
	if f.RecoveryCode != "" {
		method = MethodRecoveryCode
	}
	ok, err := s.secondFactorAttempt(ctx, u, func() (bool, error) {
		ok, err := s.checkSecondFactor(ctx, u.ID, f, now)
		if err != nil || !ok {
			return ok, err
		}
		// Spent only once the code is right, so a typo leaves the token for
		// the next try; of two right answers racing, one wins.
		spent, err := s.mfa.ConsumeMFAChallenge(ctx, hash, now)
		if err == nil && !spent {
			err = ErrInvalidMFAToken
		}
		return spent, err
	})
	if err != nil {
		if _, locked := errors.AsType[*lockedError](err); locked {
			s.mfaFailed(ctx, u, method, "locked")
		}
		return Tokens{}, err
	}
	if !ok {
		s.mfaFailed(ctx, u, method, "bad_"+method)
		return Tokens{}, ErrInvalidMFACode
	}
	toks, sid, err := s.startSession(ctx, u.ID, now)
	if err != nil {
		return Tokens{}, err
	}
	details := map[string]any{"email": logging.MaskEmail(u.Email), "method": method}
	if method == MethodRecoveryCode {
		if n, err := s.mfa.CountRecoveryCodes(ctx, u.ID); err == nil {
			details["recovery_codes_left"] = n
		}
	}
	s.record(ctx, audit.Entry{ActorID: u.ID, Action: "auth.mfa.succeeded", TargetType: "session", TargetID: sid, Details: details})
	return toks, nil
}

func (s *Service) mfaFailed(ctx context.Context, u user.User, method, reason string) {
	s.record(ctx, audit.Entry{
		ActorID: u.ID, Action: "auth.mfa.failed", Outcome: audit.Failure, TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"email": logging.MaskEmail(u.Email), "method": method, "reason": reason},
	})
}

// checkSecondFactor checks a current code (each time step accepted once) or
// spends a recovery code of userID's confirmed factor.
func (s *Service) checkSecondFactor(ctx context.Context, userID string, f SecondFactor, now time.Time) (bool, error) {
	if f.RecoveryCode != "" {
		return s.mfa.UseRecoveryCode(ctx, userID, totp.HashRecoveryCode(userID, f.RecoveryCode), now)
	}
	t, err := s.mfa.TOTP(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil || t.ConfirmedAt == nil {
		return false, err
	}
	secret, _, err := s.openSecret(ctx, t)
	if err != nil {
		return false, err
	}
	step, ok, err := totp.Match(secret, f.Code, now, t.LastUsedStep)
	if err != nil || !ok {
		return false, err
	}
	// The conditional write makes the step single-use even when two
	// requests with the same code race.
	return s.mfa.UseTOTPStep(ctx, userID, step, now)
}

// openSecret decrypts t's seed. A seed sealed under an older key of the
// ring is sealed again under the current key on the way (lazy rotation);
// the returned sealed value is the one now stored.
func (s *Service) openSecret(ctx context.Context, t TOTP) (plain, sealed string, err error) {
	if s.secrets == nil {
		return "", "", fmt.Errorf("open TOTP seed of %s: no field-encryption key ring", t.UserID)
	}
	raw, err := s.secrets.Open(t.Secret, totpAAD(t.UserID))
	if err != nil {
		return "", "", fmt.Errorf("open TOTP seed of %s: %w", t.UserID, err)
	}
	sealed = t.Secret
	if s.secrets.NeedsRotation(t.Secret) {
		if resealed, err := s.reseal(ctx, t.UserID, t.Secret, raw); err != nil {
			s.log.WarnContext(ctx, "re-encrypting a TOTP seed failed", "user_id", t.UserID, "err", err)
		} else if resealed != "" {
			sealed = resealed
		}
	}
	return string(raw), sealed, nil
}

// reseal stores raw sealed under the current key in place of old; "" when
// the stored value changed meanwhile.
func (s *Service) reseal(ctx context.Context, userID, old string, raw []byte) (string, error) {
	next, err := s.secrets.Seal(raw, totpAAD(userID))
	if err != nil {
		return "", err
	}
	ok, err := s.mfa.ResealTOTP(ctx, userID, old, next)
	if err != nil || !ok {
		return "", err
	}
	return next, nil
}

func (s *Service) requireMFA() error {
	if s.mfa == nil || s.secrets == nil {
		return ErrMFAUnavailable
	}
	return nil
}

// EnrolTOTP starts (or restarts) a TOTP enrolment of the caller after
// checking their password. The factor stays pending, and logins do not ask
// for it, until ConfirmTOTP proves the authenticator works.
func (s *Service) EnrolTOTP(ctx context.Context, p Principal, pw string) (Enrolment, error) {
	if err := s.requireMFA(); err != nil {
		return Enrolment{}, err
	}
	u, err := user.Self(ctx, s.users, p)
	if err != nil {
		return Enrolment{}, err
	}
	if on, err := s.mfaOn(ctx, u.ID); err != nil || on {
		if err == nil {
			err = ErrMFAEnabled
		}
		return Enrolment{}, err
	}
	// The same check, budget and lockout as every other current-password check.
	if err := s.CheckPassword(ctx, u, pw); err != nil {
		return Enrolment{}, err
	}
	key, err := totp.Generate(s.cfg.MFAIssuer, u.Email)
	if err != nil {
		return Enrolment{}, err
	}
	sealed, err := s.secrets.Seal([]byte(key.Secret), totpAAD(u.ID))
	if err != nil {
		return Enrolment{}, err
	}
	started, err := s.mfa.StartTOTP(ctx, u.ID, sealed, s.clock())
	if err != nil {
		return Enrolment{}, err
	}
	if !started {
		return Enrolment{}, ErrMFAEnabled
	}
	qr, err := totp.QRCodeDataURL(key.URI)
	if err != nil {
		s.log.WarnContext(ctx, "rendering the TOTP QR code failed", "err", err)
		qr = ""
	}
	s.record(ctx, audit.Entry{ActorID: u.ID, Action: "mfa.totp.enrolment_started", TargetType: "user", TargetID: u.ID})
	return Enrolment{Secret: key.Secret, URI: key.URI, QRCode: qr}, nil
}

// ConfirmTOTP turns the caller's pending factor on with a first code from
// the authenticator, returns a new set of recovery codes (shown once, kept
// only as hashes) and revokes the caller's other sessions.
func (s *Service) ConfirmTOTP(ctx context.Context, p Principal, code string) ([]string, error) {
	if err := s.requireMFA(); err != nil {
		return nil, err
	}
	t, err := s.mfa.TOTP(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && t.ConfirmedAt != nil) {
		return nil, ErrMFANotPending
	}
	if err != nil {
		return nil, err
	}
	secret, sealed, err := s.openSecret(ctx, t)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	step, ok, err := totp.Match(secret, code, now, t.LastUsedStep)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.record(ctx, audit.Entry{
			ActorID: p.UserID, Action: "mfa.totp.enabled", Outcome: audit.Failure, TargetType: "user", TargetID: p.UserID,
			Details: map[string]any{"reason": "bad_code"},
		})
		return nil, errConfirmCode
	}
	codes, hashes, err := newRecoveryCodes(p.UserID)
	if err != nil {
		return nil, err
	}
	// The factor, its codes, the other sessions' revocation and the audit
	// event commit together: no crash leaves a factor on and a session that
	// predates it alive.
	err = s.tx.InTx(ctx, func(st Stores) error {
		confirmed, err := st.MFA().ConfirmTOTP(ctx, p.UserID, sealed, step, now)
		if err != nil {
			return err
		}
		if !confirmed {
			return ErrMFANotPending // enrolled again, or confirmed, meanwhile
		}
		if err := st.MFA().ReplaceRecoveryCodes(ctx, p.UserID, hashes, now); err != nil {
			return err
		}
		revoked, err := st.Credentials().RevokeUserSessions(ctx, p.UserID, p.SessionID, ReasonMFAEnabled, now)
		if err != nil {
			return err
		}
		return s.recordIn(ctx, st, audit.Entry{
			ActorID: p.UserID, Action: "mfa.totp.enabled", TargetType: "user", TargetID: p.UserID,
			Details: map[string]any{"revoked_sessions": len(revoked)},
		})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// checkBothFactors checks the caller's password and second factor as one
// attempt against the login failure budget; passing both clears it, as a
// completed login does.
func (s *Service) checkBothFactors(ctx context.Context, u user.User, pw string, f SecondFactor, action string) error {
	if !f.valid() {
		return errOneSecondFactor
	}
	hr, err := s.hasher.Reserve()
	if err != nil {
		return s.hashErr(err)
	}
	defer hr.Release()
	var failure error
	_, err = s.secondFactorAttempt(ctx, u, func() (bool, error) {
		ok, _, err := s.verifyHash(ctx, hr, u, pw)
		if err != nil || !ok {
			failure = user.ErrWrongPassword
			return false, err
		}
		ok, err = s.checkSecondFactor(ctx, u.ID, f, s.clock())
		if err == nil && !ok {
			failure = ErrWrongSecondFactor
		}
		return ok, err
	})
	if err != nil {
		return err
	}
	if failure != nil {
		reason := "bad_password"
		if failure == ErrWrongSecondFactor {
			reason = "bad_second_factor"
		}
		s.record(ctx, audit.Entry{
			ActorID: u.ID, Action: action, Outcome: audit.Failure, TargetType: "user", TargetID: u.ID,
			Details: map[string]any{"reason": reason},
		})
		return failure
	}
	return nil
}

// DisableTOTP turns the caller's second factor off, after their password
// and a current code or a recovery code, and revokes their other sessions.
func (s *Service) DisableTOTP(ctx context.Context, p Principal, pw string, f SecondFactor) error {
	if err := s.requireMFA(); err != nil {
		return err
	}
	u, err := user.Self(ctx, s.users, p)
	if err != nil {
		return err
	}
	if on, err := s.mfaOn(ctx, u.ID); err != nil || !on {
		if err == nil {
			err = ErrMFANotEnabled
		}
		return err
	}
	if err := s.checkBothFactors(ctx, u, pw, f, "mfa.totp.disabled"); err != nil {
		return err
	}
	return s.removeMFA(ctx, u.ID, p.SessionID, ReasonMFADisabled, audit.Entry{
		ActorID: u.ID, Action: "mfa.totp.disabled", TargetType: "user", TargetID: u.ID,
	})
}

// RegenerateRecoveryCodes replaces the caller's recovery codes, after their
// password and a current code or a recovery code.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p Principal, pw string, f SecondFactor) ([]string, error) {
	if err := s.requireMFA(); err != nil {
		return nil, err
	}
	u, err := user.Self(ctx, s.users, p)
	if err != nil {
		return nil, err
	}
	if on, err := s.mfaOn(ctx, u.ID); err != nil || !on {
		if err == nil {
			err = ErrMFANotEnabled
		}
		return nil, err
	}
	if err := s.checkBothFactors(ctx, u, pw, f, "mfa.recovery_codes.regenerated"); err != nil {
		return nil, err
	}
	codes, hashes, err := newRecoveryCodes(u.ID)
	if err != nil {
		return nil, err
	}
	if err := s.mfa.ReplaceRecoveryCodes(ctx, u.ID, hashes, s.clock()); err != nil {
		return nil, err
	}
	s.record(ctx, audit.Entry{ActorID: u.ID, Action: "mfa.recovery_codes.regenerated", TargetType: "user", TargetID: u.ID})
	return codes, nil
}

// MFAStatus returns what the caller has set up.
func (s *Service) MFAStatus(ctx context.Context, p Principal) (MFAStatus, error) {
	if s.mfa == nil {
		return MFAStatus{}, nil
	}
	t, err := s.mfa.TOTP(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return MFAStatus{}, nil
	}
	if err != nil {
		return MFAStatus{}, err
	}
	st := MFAStatus{Enabled: t.ConfirmedAt != nil, Pending: t.ConfirmedAt == nil, EnabledAt: t.ConfirmedAt}
	if st.Enabled {
		n, err := s.mfa.CountRecoveryCodes(ctx, p.UserID)
		if err != nil {
			return MFAStatus{}, err
		}
		st.RecoveryCodesLeft = int(n)
	}
	return st, nil
}

// ResetMFA removes another account's second factor (admin only), for a
// user who lost both authenticator and recovery codes, and revokes every
// session of that account. The admin never sees the seed.
func (s *Service) ResetMFA(ctx context.Context, p Principal, userID string) error {
	if !p.IsAdmin() {
		return user.ErrAdminRequired
	}
	if userID == p.UserID {
		return ErrSelfMFAReset
	}
	if _, err := s.users.ByID(ctx, userID); err != nil {
		return err
	}
	if s.mfa == nil {
		return ErrNoMFAToReset
	}
	if _, err := s.mfa.TOTP(ctx, userID); errors.Is(err, ErrNotFound) {
		return ErrNoMFAToReset
	} else if err != nil {
		return err
	}
	return s.removeMFA(ctx, userID, "", ReasonMFAReset, audit.Entry{
		ActorID: p.UserID, Action: "mfa.reset_by_admin", TargetType: "user", TargetID: userID,
	})
}

// removeMFA deletes userID's factor, recovery codes and pending challenges,
// revokes the account's sessions but keepSession ("" for none) for reason,
// and records e with the number revoked, all in one transaction.
func (s *Service) removeMFA(ctx context.Context, userID, keepSession, reason string, e audit.Entry) error {
	return s.tx.InTx(ctx, func(st Stores) error {
		tx := st.MFA()
		if _, err := tx.DeleteTOTP(ctx, userID); err != nil {
			return err
		}
		if err := tx.DeleteRecoveryCodes(ctx, userID); err != nil {
			return err
		}
		if err := tx.DeleteMFAChallenges(ctx, userID); err != nil {
			return err
		}
		revoked, err := st.Credentials().RevokeUserSessions(ctx, userID, keepSession, reason, s.clock())
		if err != nil {
			return err
		}
		e.Details = map[string]any{"revoked_sessions": len(revoked)}
		return s.recordIn(ctx, st, e)
	})
}

// RotateMFASecrets re-encrypts every stored seed not sealed with the ring's
// current key, batch rows at a time (each row its own conditional write, so
// it runs beside live traffic). Seeds that do not open are reported, not
// fatal, so one bad row does not stop the sweep.
func (s *Service) RotateMFASecrets(ctx context.Context, batch int) (RotationReport, error) {
	var rep RotationReport
	if s.mfa == nil || s.secrets == nil {
		return rep, ErrMFAUnavailable
	}
	if batch <= 0 || batch > 1000 {
		batch = rotateBatch
	}
	for after := ""; ; {
		page, err := s.mfa.TOTPSecretsAfter(ctx, after, batch)
		if err != nil {
			return rep, err
		}
		for _, row := range page {
			rep.Checked++
			if !s.secrets.NeedsRotation(row.Secret) {
				continue
			}
			raw, err := s.secrets.Open(row.Secret, totpAAD(row.UserID))
			if err != nil {
				s.log.ErrorContext(ctx, "a TOTP seed does not open with the key ring", "user_id", row.UserID, "err", err)
				rep.Failed = append(rep.Failed, row.UserID)
				continue
			}
			next, err := s.reseal(ctx, row.UserID, row.Secret, raw)
			if err != nil {
				return rep, err
			}
			if next != "" {
				rep.Resealed++
			}
		}
		if len(page) < batch {
			return rep, nil
		}
		after = page[len(page)-1].UserID
	}
}

// newRecoveryCodes returns a new set of codes and their stored hashes.
func newRecoveryCodes(userID string) (codes, hashes []string, err error) {
	codes, err = totp.NewRecoveryCodes()
	if err != nil {
		return nil, nil, err
	}
	hashes = make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = totp.HashRecoveryCode(userID, c)
	}
	return codes, hashes, nil
}
