package sqlstore

import (
	"context"
	"strings"
	"time"

	"secureapi/gen/sqlitedb"
	"secureapi/internal/pat"
)

// AccessTokens implements pat.Store.
type AccessTokens struct{ base }

var _ pat.Store = (*AccessTokens)(nil)

func NewAccessTokens(e Engine) *AccessTokens { return &AccessTokens{base{e: e}} }

func (s *AccessTokens) err(err error) error { return s.mapErr(err, pat.ErrNotFound, nil) }

func (s *AccessTokens) Create(ctx context.Context, t pat.Token, hash string) (pat.Token, error) {
	r, err := s.w().CreateAccessToken(ctx, sqlitedb.CreateAccessTokenParams{
		ID: t.ID, UserID: t.UserID, Name: t.Name, TokenHash: hash, Scopes: joinScopes(t.Scopes),
		CreatedAt: ts(t.CreatedAt), ExpiresAt: ts(t.ExpiresAt),
	})
	return toAccessToken(r), s.err(err)
}

// listCap bounds a token list: every live token (pat.MaxLive at most), then
// the most recently expired ones.
const listCap = 100

func (s *AccessTokens) List(ctx context.Context, userID string, now time.Time) ([]pat.Token, error) {
	live, err := s.r().ListLiveAccessTokens(ctx, sqlitedb.ListLiveAccessTokensParams{UserID: userID, Now: ts(now), Lim: listCap})
	if err != nil {
		return nil, s.err(err)
	}
	expired, err := s.r().ListExpiredAccessTokens(ctx, sqlitedb.ListExpiredAccessTokensParams{
		UserID: userID, Now: ts(now), Lim: int64(max(0, listCap-len(live))),
	})
	if err != nil {
		return nil, s.err(err)
	}
	out := make([]pat.Token, 0, len(live)+len(expired))
	for _, r := range append(live, expired...) {
		out = append(out, toAccessToken(r))
	}
	return out, nil
}

func (s *AccessTokens) CountLive(ctx context.Context, userID string, now time.Time) (int64, error) {
	n, err := s.r().CountLiveAccessTokens(ctx, sqlitedb.CountLiveAccessTokensParams{UserID: userID, Now: ts(now)})
	return n, s.err(err)
}

func (s *AccessTokens) State(ctx context.Context, hash string) (pat.State, error) {
	r, err := s.r().AccessTokenAuthState(ctx, hash)
	if err != nil {
		return pat.State{}, s.err(err)
	}
	return pat.State{
		ID: r.ID, UserID: r.UserID, Scopes: splitScopes(r.Scopes), ExpiresAt: utc(r.ExpiresAt),
		RevokedAt: utcp(r.RevokedAt), LastUsedAt: utcp(r.LastUsedAt), IsActive: r.IsActive, Role: r.Role,
	}, nil
}

func (s *AccessTokens) Touch(ctx context.Context, id string, now, staleBefore time.Time) error {
	return s.err(s.w().TouchAccessToken(ctx, sqlitedb.TouchAccessTokenParams{ID: id, Now: tsp(&now), StaleBefore: tsp(&staleBefore)}))
}

func (s *AccessTokens) Revoke(ctx context.Context, userID, id, reason string, at time.Time) (bool, error) {
	n, err := s.w().RevokeAccessToken(ctx, sqlitedb.RevokeAccessTokenParams{ID: id, UserID: userID, RevokedAt: tsp(&at), RevokeReason: &reason})
	if err != nil {
		return false, s.err(err)
	}
	return n > 0, nil
}

func (s *AccessTokens) RevokeAll(ctx context.Context, userID, reason string, at time.Time) ([]string, error) {
	ids, err := s.w().RevokeUserAccessTokens(ctx, sqlitedb.RevokeUserAccessTokensParams{UserID: userID, RevokedAt: tsp(&at), RevokeReason: &reason})
	return ids, s.err(err)
}

// Scopes are stored space-separated, the way OAuth 2.0 writes a scope list.
func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }

func splitScopes(s string) []string { return strings.Fields(s) }

func toAccessToken(r sqlitedb.AccessToken) pat.Token {
	return pat.Token{
		ID: r.ID, UserID: r.UserID, Name: r.Name, Scopes: splitScopes(r.Scopes), CreatedAt: utc(r.CreatedAt),
		LastUsedAt: utcp(r.LastUsedAt), ExpiresAt: utc(r.ExpiresAt), RevokedAt: utcp(r.RevokedAt),
	}
}
