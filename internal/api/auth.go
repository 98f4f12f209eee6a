package api

import (
	"context"

	openapi_types "github.com/oapi-codegen/runtime/types"

	gen "secureapi/gen/api"
	"secureapi/internal/auth"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/httpx"
	"secureapi/internal/user"
)

var errCrossSite = apperr.New(apperr.Forbidden, "Cross-site request refused.")

func (s *Server) Register(ctx context.Context, req gen.RegisterRequestObject) (gen.RegisterResponseObject, error) {
	b := req.Body
	u, err := s.Auth.Register(ctx, string(b.Email), b.Username, b.Password, b.DisplayName)
	if err != nil {
		return nil, err
	}
	// Proven mailboxes: one answer for a new and a taken address.
	if s.Config.RequireVerifiedEmail {
		return gen.Register202JSONResponse{Body: gen.RegistrationAccepted{Detail: "Check your inbox to finish creating your account."}}, nil
	}
	return gen.Register201JSONResponse{Body: toAPIUser(u)}, nil
}

func (s *Server) VerifyEmail(ctx context.Context, req gen.VerifyEmailRequestObject) (gen.VerifyEmailResponseObject, error) {
	if req.Body == nil {
		return nil, errNoBody
	}
	if err := s.Auth.VerifyEmail(ctx, req.Body.Token); err != nil {
		return nil, err
	}
	return gen.VerifyEmail204Response{}, nil
}

func (s *Server) ResendVerification(ctx context.Context, _ gen.ResendVerificationRequestObject) (gen.ResendVerificationResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Auth.ResendVerification(ctx, p); err != nil {
		return nil, err
	}
	return gen.ResendVerification202Response{}, nil
}

func (s *Server) Login(ctx context.Context, req gen.LoginRequestObject) (gen.LoginResponseObject, error) {
	toks, err := s.Auth.Login(ctx, string(req.Body.Email), req.Body.Password)
	if err != nil {
		return nil, err
	}
	return gen.Login200JSONResponse{
		Body:    toAPITokens(toks),
		Headers: gen.Login200ResponseHeaders{SetCookie: s.refreshCookie(toks.RefreshToken, s.Config.RefreshTokenTTL)},
	}, nil
}

func (s *Server) RefreshToken(ctx context.Context, req gen.RefreshTokenRequestObject) (gen.RefreshTokenResponseObject, error) {
	if err := s.sameSite(ctx); err != nil {
		return nil, err
	}
	if req.Params.RefreshToken == nil {
		return nil, auth.ErrInvalidRefresh
	}
	toks, err := s.Auth.Refresh(ctx, *req.Params.RefreshToken)
	if err != nil {
		return nil, err
	}
	res := gen.RefreshToken200JSONResponse{Body: toAPITokens(toks)}
	// Within the reuse grace no new refresh token is issued and the client
	// keeps the cookie it has.
	if toks.RefreshToken != "" {
		res.Headers.SetCookie = s.refreshCookie(toks.RefreshToken, s.Config.RefreshTokenTTL)
	}
	return res, nil
}

func (s *Server) Logout(ctx context.Context, req gen.LogoutRequestObject) (gen.LogoutResponseObject, error) {
	if err := s.sameSite(ctx); err != nil {
		return nil, err
	}
	if req.Params.RefreshToken != nil {
		if err := s.Auth.Logout(ctx, *req.Params.RefreshToken); err != nil {
			return nil, err
		}
	}
	return gen.Logout204Response{Headers: gen.Logout204ResponseHeaders{SetCookie: s.refreshCookie("", 0)}}, nil
}

// sameSite refuses requests to the cookie endpoints that a browser sent from
// another site, before anything changes. SameSite=Strict already keeps the
// cookie off such requests; this holds even where that attribute is ignored.
func (s *Server) sameSite(ctx context.Context) error {
	r := httpRequest(ctx)
	if r == nil {
		return errCrossSite
	}
	// Same-origin pages (e.g. a front end served by the API's own host) send
	// their own origin, which is never cross-site; the browser, not the page,
	// sets both Origin and Host.
	scheme := "http"
	if httpx.IsHTTPS(r, s.Config.TrustedProxies) {
		scheme = "https"
	}
	sameOrigin := r.Header.Get("Origin") == scheme+"://"+r.Host
	if !sameOrigin && !httpx.OriginAllowed(r, s.Config.CORSAllowedOrigins) {
		return errCrossSite
	}
	// A browser that omits Origin still says where the request came from.
	if r.Header.Get("Origin") == "" && r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return errCrossSite
	}
	return nil
}

func (s *Server) ListSessions(ctx context.Context, _ gen.ListSessionsRequestObject) (gen.ListSessionsResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.Auth.Sessions(ctx, p)
	if err != nil {
		return nil, err
	}
	items := make([]gen.Session, len(list))
	for i, x := range list {
		items[i] = toAPISession(x, p.SessionID)
	}
	return gen.ListSessions200JSONResponse{Body: gen.SessionList{Items: items}}, nil
}

func (s *Server) RevokeSession(ctx context.Context, req gen.RevokeSessionRequestObject) (gen.RevokeSessionResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Auth.RevokeSession(ctx, p, req.Id.String()); err != nil {
		return nil, err
	}
	return gen.RevokeSession204Response{}, nil
}

func (s *Server) RevokeOtherSessions(ctx context.Context, _ gen.RevokeOtherSessionsRequestObject) (gen.RevokeOtherSessionsResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Auth.RevokeOtherSessions(ctx, p); err != nil {
		return nil, err
	}
	return gen.RevokeOtherSessions204Response{}, nil
}

func (s *Server) ForgotPassword(ctx context.Context, req gen.ForgotPasswordRequestObject) (gen.ForgotPasswordResponseObject, error) {
	if err := s.Auth.ForgotPassword(ctx, string(req.Body.Email)); err != nil {
		return nil, err
	}
	return gen.ForgotPassword202Response{}, nil
}

func (s *Server) ResetPassword(ctx context.Context, req gen.ResetPasswordRequestObject) (gen.ResetPasswordResponseObject, error) {
	if err := s.Auth.ResetPassword(ctx, req.Body.Token, req.Body.NewPassword); err != nil {
		return nil, err
	}
	return gen.ResetPassword204Response{}, nil
}

func toAPITokens(t auth.Tokens) gen.TokenResponse {
	return gen.TokenResponse{AccessToken: t.AccessToken, TokenType: gen.Bearer, ExpiresIn: int32(t.ExpiresIn)}
}

func toAPISession(x auth.Session, currentID string) gen.Session {
	out := gen.Session{
		Id: parseUUID(x.ID), CreatedAt: x.CreatedAt, LastUsedAt: x.LastUsedAt, ExpiresAt: x.ExpiresAt,
		Current: x.ID == currentID,
	}
	if x.UserAgent != "" {
		out.UserAgent = &x.UserAgent
	}
	if x.IP != "" {
		out.Ip = &x.IP
	}
	return out
}

func toAPIUser(u user.User) gen.User {
	return gen.User{
		Id: parseUUID(u.ID), Email: openapi_types.Email(u.Email), Username: u.Username, DisplayName: u.DisplayName,
		Role: gen.Role(u.Role), IsActive: u.IsActive, EmailVerifiedAt: u.EmailVerifiedAt,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

// parseUUID converts an id read from the database, where it is always a
// valid UUID.
func parseUUID(s string) openapi_types.UUID {
	var id openapi_types.UUID
	_ = id.UnmarshalText([]byte(s))
	return id
}
