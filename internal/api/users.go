package api

import (
	"context"

	gen "secureapi/gen/api"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/user"
)

// errNoBody backs up the request validator, which already requires these bodies.
var errNoBody = apperr.Field("body", "", "a request body is required")

func (s *Server) GetMe(ctx context.Context, _ gen.GetMeRequestObject) (gen.GetMeResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := s.Auth.Profile(ctx, p)
	if err != nil {
		return nil, err
	}
	out := toAPIUser(pr.User)
	out.MfaEnabled = pr.MFAEnabled
	return gen.GetMe200JSONResponse{Body: out}, nil
}

func (s *Server) UpdateMe(ctx context.Context, req gen.UpdateMeRequestObject) (gen.UpdateMeResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.Users.UpdateMe(ctx, p, toUserPatch(req.Body))
	if err != nil {
		return nil, err
	}
	out, err := s.apiUser(ctx, u)
	if err != nil {
		return nil, err
	}
	return gen.UpdateMe200JSONResponse{Body: out}, nil
}

func (s *Server) ChangePassword(ctx context.Context, req gen.ChangePasswordRequestObject) (gen.ChangePasswordResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errNoBody
	}
	if err := s.Auth.ChangePassword(ctx, p, req.Body.CurrentPassword, req.Body.NewPassword); err != nil {
		return nil, err
	}
	return gen.ChangePassword204Response{}, nil
}

func (s *Server) DeleteMe(ctx context.Context, req gen.DeleteMeRequestObject) (gen.DeleteMeResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errNoBody
	}
	if err := s.Users.DeleteMe(ctx, p, req.Body.Password); err != nil {
		return nil, err
	}
	return gen.DeleteMe204Response{}, nil
}

func (s *Server) RequestEmailChange(ctx context.Context, req gen.RequestEmailChangeRequestObject) (gen.RequestEmailChangeResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errNoBody
	}
	if err := s.Auth.RequestEmailChange(ctx, p, string(req.Body.NewEmail), req.Body.CurrentPassword); err != nil {
		return nil, err
	}
	return gen.RequestEmailChange202Response{}, nil
}

func (s *Server) ConfirmEmailChange(ctx context.Context, req gen.ConfirmEmailChangeRequestObject) (gen.ConfirmEmailChangeResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errNoBody
	}
	u, err := s.Auth.ConfirmEmailChange(ctx, p, req.Body.Token)
	if err != nil {
		return nil, err
	}
	out, err := s.apiUser(ctx, u)
	if err != nil {
		return nil, err
	}
	return gen.ConfirmEmailChange200JSONResponse{Body: out}, nil
}

func (s *Server) ListUsers(ctx context.Context, req gen.ListUsersRequestObject) (gen.ListUsersResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	us, next, err := s.Users.List(ctx, p, toUserFilter(req.Params))
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	mfa, err := s.Auth.MFAEnabledAmong(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := gen.UserList{Items: make([]gen.User, len(us))}
	for i, u := range us {
		out.Items[i] = toAPIUser(u)
		out.Items[i].MfaEnabled = mfa[u.ID]
	}
	if next != "" {
		out.NextCursor = &next
	}
	return gen.ListUsers200JSONResponse{Body: out}, nil
}

func (s *Server) GetUser(ctx context.Context, req gen.GetUserRequestObject) (gen.GetUserResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.Users.Get(ctx, p, req.Id.String())
	if err != nil {
		return nil, err
	}
	out, err := s.apiUser(ctx, u)
	if err != nil {
		return nil, err
	}
	return gen.GetUser200JSONResponse{Body: out}, nil
}

func (s *Server) UpdateUser(ctx context.Context, req gen.UpdateUserRequestObject) (gen.UpdateUserResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.Users.Update(ctx, p, req.Id.String(), toAdminPatch(req.Body))
	if err != nil {
		return nil, err
	}
	out, err := s.apiUser(ctx, u)
	if err != nil {
		return nil, err
	}
	return gen.UpdateUser200JSONResponse{Body: out}, nil
}

func (s *Server) DeleteUser(ctx context.Context, req gen.DeleteUserRequestObject) (gen.DeleteUserResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Users.Delete(ctx, p, req.Id.String()); err != nil {
		return nil, err
	}
	return gen.DeleteUser204Response{}, nil
}

// toAPIUser (auth.go) is the one converter of an account to its public
// view, shared with registration; it never carries the password hash.

func toUserPatch(b *gen.UpdateMeRequest) user.Patch {
	if b == nil {
		return user.Patch{}
	}
	return user.Patch{DisplayName: b.DisplayName, Username: b.Username}
}

func toAdminPatch(b *gen.AdminUpdateUserRequest) user.AdminPatch {
	if b == nil {
		return user.AdminPatch{}
	}
	var role *user.Role
	if b.Role != nil {
		role = new(user.Role(*b.Role))
	}
	return user.AdminPatch{Role: role, IsActive: b.IsActive, DisplayName: b.DisplayName}
}

func toUserFilter(q gen.ListUsersParams) user.ListFilter {
	f := user.ListFilter{Active: q.IsActive}
	if q.Q != nil {
		f.Q = *q.Q
	}
	if q.Role != nil {
		f.Role = user.Role(*q.Role)
	}
	if q.Cursor != nil {
		f.Before = *q.Cursor
	}
	if q.Limit != nil {
		f.Limit = int(*q.Limit)
	}
	return f
}
