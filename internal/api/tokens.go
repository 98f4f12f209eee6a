package api

import (
	"context"
	"time"

	gen "secureapi/gen/api"
	"secureapi/internal/pat"
)

func (s *Server) CreateAccessToken(ctx context.Context, req gen.CreateAccessTokenRequestObject) (gen.CreateAccessTokenResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errNoBody
	}
	b := req.Body
	scopes := make([]string, len(b.Scopes))
	for i, sc := range b.Scopes {
		scopes[i] = string(sc)
	}
	var ttl time.Duration
	if b.ExpiresIn != nil {
		ttl = time.Duration(*b.ExpiresIn) * time.Second
	}
	t, secret, err := s.PATs.Create(ctx, p, b.Name, scopes, ttl)
	if err != nil {
		return nil, err
	}
	v := toAPIAccessToken(t)
	return gen.CreateAccessToken201JSONResponse{Body: gen.AccessTokenCreated{
		Id: v.Id, Name: v.Name, Scopes: v.Scopes, CreatedAt: v.CreatedAt, LastUsedAt: v.LastUsedAt, ExpiresAt: v.ExpiresAt,
		Token: secret,
	}}, nil
}

func (s *Server) ListAccessTokens(ctx context.Context, _ gen.ListAccessTokensRequestObject) (gen.ListAccessTokensResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.PATs.List(ctx, p)
	if err != nil {
		return nil, err
	}
	items := make([]gen.AccessToken, len(list))
	for i, t := range list {
		items[i] = toAPIAccessToken(t)
	}
	return gen.ListAccessTokens200JSONResponse{Body: gen.AccessTokenList{Items: items}}, nil
}

func (s *Server) RevokeAccessToken(ctx context.Context, req gen.RevokeAccessTokenRequestObject) (gen.RevokeAccessTokenResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.PATs.Revoke(ctx, p, req.Id.String()); err != nil {
		return nil, err
	}
	return gen.RevokeAccessToken204Response{}, nil
}

func toAPIAccessToken(t pat.Token) gen.AccessToken {
	scopes := make([]gen.AccessTokenScope, len(t.Scopes))
	for i, sc := range t.Scopes {
		scopes[i] = gen.AccessTokenScope(sc)
	}
	return gen.AccessToken{
		Id: parseUUID(t.ID), Name: t.Name, Scopes: scopes, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt,
	}
}
