package sqlstore

import (
	"context"
	"time"

	"secureapi/gen/sqlitedb"
	"secureapi/internal/auth"
)

// Sessions implements auth.Store.
type Sessions struct{ base }

var _ auth.Store = (*Sessions)(nil)

func NewSessions(e Engine) *Sessions { return &Sessions{base{e: e}} }

func (s *Sessions) err(err error) error { return s.mapErr(err, auth.ErrNotFound, nil) }

func (s *Sessions) CreateSession(ctx context.Context, x auth.Session) (auth.Session, error) {
	row, err := s.w().CreateSession(ctx, sqlitedb.CreateSessionParams{
		ID: x.ID, UserID: x.UserID, UserAgent: x.UserAgent, Ip: x.IP,
		CreatedAt: ts(x.CreatedAt), LastUsedAt: ts(x.LastUsedAt), ExpiresAt: ts(x.ExpiresAt),
	})
	return toSession(row), s.err(err)
}

func (s *Sessions) Session(ctx context.Context, id string) (auth.Session, error) {
	row, err := s.r().GetSession(ctx, id)
	return toSession(row), s.err(err)
}

func (s *Sessions) ActiveSessions(ctx context.Context, userID string, now time.Time) ([]auth.Session, error) {
	rows, err := s.r().ListActiveSessions(ctx, sqlitedb.ListActiveSessionsParams{UserID: userID, Now: ts(now)})
	if err != nil {
		return nil, s.err(err)
	}
	out := make([]auth.Session, len(rows))
	for i, r := range rows {
		out[i] = toSession(r)
	}
	return out, nil
}

func (s *Sessions) TouchSession(ctx context.Context, id, ip, userAgent string, at time.Time) error {
	return s.err(s.w().TouchSession(ctx, sqlitedb.TouchSessionParams{ID: id, Ip: ip, UserAgent: userAgent, LastUsedAt: ts(at)}))
}

func (s *Sessions) RevokeSession(ctx context.Context, userID, id, reason string, at time.Time) (bool, error) {
	n, err := s.w().RevokeSession(ctx, sqlitedb.RevokeSessionParams{ID: id, UserID: userID, RevokeReason: &reason, RevokedAt: tsp(&at)})
	if err != nil {
		return false, s.err(err)
	}
	return n > 0, nil
}

func (s *Sessions) RevokeUserSessions(ctx context.Context, userID, exceptID, reason string, at time.Time) ([]string, error) {
	if exceptID == "" {
		exceptID = nilID
	}
	ids, err := s.w().RevokeUserSessions(ctx, sqlitedb.RevokeUserSessionsParams{
		UserID: userID, ExceptID: exceptID, RevokeReason: &reason, RevokedAt: tsp(&at),
	})
	return ids, s.err(err)
}

func (s *Sessions) State(ctx context.Context, sessionID string) (auth.State, error) {
	r, err := s.r().SessionAuthState(ctx, sessionID)
	if err != nil {
		return auth.State{}, s.err(err)
	}
	return auth.State{UserID: r.UserID, RevokedAt: utcp(r.RevokedAt), ExpiresAt: utc(r.ExpiresAt), IsActive: r.IsActive, Role: r.Role}, nil
}

func (s *Sessions) InsertRefreshToken(ctx context.Context, t auth.RefreshToken) error {
	return s.err(s.w().InsertRefreshToken(ctx, sqlitedb.InsertRefreshTokenParams{TokenHash: t.Hash, SessionID: t.SessionID, IssuedAt: ts(t.IssuedAt)}))
}

func (s *Sessions) RefreshToken(ctx context.Context, hash string) (auth.RefreshToken, error) {
	r, err := s.r().GetRefreshToken(ctx, hash)
	return toRefreshToken(r), s.err(err)
}

func (s *Sessions) CurrentRefreshToken(ctx context.Context, sessionID string) (auth.RefreshToken, error) {
	r, err := s.r().CurrentRefreshToken(ctx, sessionID)
	return toRefreshToken(r), s.err(err)
}

func (s *Sessions) MarkReplaced(ctx context.Context, hash string, at time.Time) (bool, error) {
	n, err := s.w().MarkRefreshTokenReplaced(ctx, sqlitedb.MarkRefreshTokenReplacedParams{TokenHash: hash, ReplacedAt: tsp(&at)})
	if err != nil {
		return false, s.err(err)
	}
	return n == 1, nil
}

func (s *Sessions) Throttle(ctx context.Context, key string) (auth.Throttle, error) {
	r, err := s.r().GetLoginThrottle(ctx, key)
	if err != nil {
		return auth.Throttle{}, s.err(err)
	}
	return auth.Throttle{Key: r.Key, Failures: r.Failures, FirstFailureAt: utc(r.FirstFailureAt), LockedUntil: utcp(r.LockedUntil)}, nil
}

func (s *Sessions) LockThrottle(ctx context.Context, key string, now time.Time) (auth.Throttle, error) {
	r, err := s.w().LockLoginThrottle(ctx, sqlitedb.LockLoginThrottleParams{Key: key, Now: ts(now)})
	if err != nil {
		return auth.Throttle{}, s.err(err)
	}
	return auth.Throttle{Key: r.Key, Failures: r.Failures, FirstFailureAt: utc(r.FirstFailureAt), LockedUntil: utcp(r.LockedUntil)}, nil
}

func (s *Sessions) SaveThrottle(ctx context.Context, t auth.Throttle) error {
	return s.err(s.w().UpsertLoginThrottle(ctx, sqlitedb.UpsertLoginThrottleParams{
		Key: t.Key, Failures: t.Failures, FirstFailureAt: ts(t.FirstFailureAt), LockedUntil: tsp(t.LockedUntil),
	}))
}

func (s *Sessions) ClearThrottle(ctx context.Context, key string) error {
	return s.err(s.w().DeleteLoginThrottle(ctx, key))
}

func (s *Sessions) CreateMailToken(ctx context.Context, t auth.MailToken) error {
	var email *string
	if t.Email != "" {
		email = &t.Email
	}
	return s.err(s.w().CreateMailToken(ctx, sqlitedb.CreateMailTokenParams{
		TokenHash: t.Hash, UserID: t.UserID, Purpose: string(t.Purpose), Email: email,
		CreatedAt: ts(t.CreatedAt), ExpiresAt: ts(t.ExpiresAt),
	}))
}

func (s *Sessions) ConsumeMailToken(ctx context.Context, purpose auth.MailPurpose, hash string, now time.Time) (auth.MailToken, error) {
	r, err := s.w().ConsumeMailToken(ctx, sqlitedb.ConsumeMailTokenParams{TokenHash: hash, Purpose: string(purpose), Now: tsp(&now)})
	if err != nil {
		return auth.MailToken{}, s.err(err)
	}
	t := auth.MailToken{Hash: hash, UserID: r.UserID, Purpose: purpose}
	if r.Email != nil {
		t.Email = *r.Email
	}
	return t, nil
}

func (s *Sessions) DeleteMailTokens(ctx context.Context, userID string, purpose auth.MailPurpose) error {
	return s.err(s.w().DeleteMailTokens(ctx, sqlitedb.DeleteMailTokensParams{UserID: userID, Purpose: string(purpose)}))
}

func toSession(r sqlitedb.Session) auth.Session {
	return auth.Session{
		ID: r.ID, UserID: r.UserID, UserAgent: r.UserAgent, IP: r.Ip,
		CreatedAt: utc(r.CreatedAt), LastUsedAt: utc(r.LastUsedAt), ExpiresAt: utc(r.ExpiresAt),
		RevokedAt: utcp(r.RevokedAt), RevokeReason: r.RevokeReason,
	}
}

func toRefreshToken(r sqlitedb.RefreshToken) auth.RefreshToken {
	return auth.RefreshToken{Hash: r.TokenHash, SessionID: r.SessionID, IssuedAt: utc(r.IssuedAt), ReplacedAt: utcp(r.ReplacedAt)}
}
