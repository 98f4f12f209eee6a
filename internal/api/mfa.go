package api

import (
	"context"

	gen "secureapi/gen/api"
	"secureapi/internal/auth"
	"secureapi/internal/user"
)

func (s *Server) VerifyMfa(ctx context.Context, req gen.VerifyMfaRequestObject) (gen.VerifyMfaResponseObject, error) {
	if req.Body == nil {
		return nil, errNoBody
	}
	toks, err := s.Auth.VerifyMFA(ctx, req.Body.MfaToken, secondFactor(req.Body.Code, req.Body.RecoveryCode))
	if err != nil {
		return nil, err
	}
	return gen.VerifyMfa200JSONResponse{
		Body:    toAPITokens(toks),
		Headers: gen.VerifyMfa200ResponseHeaders{SetCookie: s.refreshCookie(toks.RefreshToken, s.Config.RefreshTokenTTL)},
	}, nil
}

func (s *Server) GetMfaStatus(ctx context.Context, _ gen.GetMfaStatusRequestObject) (gen.GetMfaStatusResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.Auth.MFAStatus(ctx, p)
	if err != nil {
		return nil, err
	}
	return gen.GetMfaStatus200JSONResponse{Body: gen.MfaStatus{
		Enabled: st.Enabled, Pending: st.Pending, EnabledAt: st.EnabledAt, RecoveryCodesLeft: int32(st.RecoveryCodesLeft),
	}}, nil
}

func (s *Server) EnrolTotp(ctx context.Context, req gen.EnrolTotpRequestObject) (gen.EnrolTotpResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errNoBody
	}
	en, err := s.Auth.EnrolTOTP(ctx, p, req.Body.Password)
	if err != nil {
		return nil, err
	}
	out := gen.TotpEnrolment{Secret: en.Secret, OtpauthUri: en.URI}
	if en.QRCode != "" {
		out.QrCodePng = &en.QRCode
	}
	return gen.EnrolTotp201JSONResponse{Body: out}, nil
}

func (s *Server) ConfirmTotp(ctx context.Context, req gen.ConfirmTotpRequestObject) (gen.ConfirmTotpResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errNoBody
	}
	codes, err := s.Auth.ConfirmTOTP(ctx, p, req.Body.Code)
	if err != nil {
		return nil, err
	}
	return gen.ConfirmTotp200JSONResponse{Body: gen.RecoveryCodes{RecoveryCodes: codes}}, nil
}

func (s *Server) DisableTotp(ctx context.Context, req gen.DisableTotpRequestObject) (gen.DisableTotpResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errNoBody
	}
	b := req.Body
	if err := s.Auth.DisableTOTP(ctx, p, b.Password, secondFactor(b.Code, b.RecoveryCode)); err != nil {
		return nil, err
	}
	return gen.DisableTotp204Response{}, nil
}

func (s *Server) RegenerateRecoveryCodes(ctx context.Context, req gen.RegenerateRecoveryCodesRequestObject) (gen.RegenerateRecoveryCodesResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errNoBody
	}
	b := req.Body
	codes, err := s.Auth.RegenerateRecoveryCodes(ctx, p, b.Password, secondFactor(b.Code, b.RecoveryCode))
	if err != nil {
		return nil, err
	}
	return gen.RegenerateRecoveryCodes200JSONResponse{Body: gen.RecoveryCodes{RecoveryCodes: codes}}, nil
}

func (s *Server) ResetUserMfa(ctx context.Context, req gen.ResetUserMfaRequestObject) (gen.ResetUserMfaResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Auth.ResetMFA(ctx, p, req.Id.String()); err != nil {
		return nil, err
	}
	return gen.ResetUserMfa204Response{}, nil
}

func secondFactor(code, recoveryCode *string) auth.SecondFactor {
	var f auth.SecondFactor
	if code != nil {
		f.Code = *code
	}
	if recoveryCode != nil {
		f.RecoveryCode = *recoveryCode
	}
	return f
}

// apiUser is an account's public view (toAPIUser) with whether it logs in
// with a second factor, which only the MFA records know.
func (s *Server) apiUser(ctx context.Context, u user.User) (gen.User, error) {
	out := toAPIUser(u)
	on, err := s.Auth.MFAEnabled(ctx, u.ID)
	if err != nil {
		return gen.User{}, err
	}
	out.MfaEnabled = on
	return out, nil
}
