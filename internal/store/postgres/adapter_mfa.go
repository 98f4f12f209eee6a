package postgres

import (
	"context"

	"secureapi/gen/pgdb"
	"secureapi/gen/sqlitedb"
)

// The second-factor and access-token queries, kept apart from adapter.go so
// that features adding queries do not all edit one file.

func (a adapter) GetTOTP(ctx context.Context, userID string) (sqlitedb.MfaTotp, error) {
	r, err := a.q.GetTOTP(ctx, userID)
	return sqlitedb.MfaTotp(r), err
}

func (a adapter) StartTOTP(ctx context.Context, arg sqlitedb.StartTOTPParams) (int64, error) {
	return a.q.StartTOTP(ctx, pgdb.StartTOTPParams(arg))
}

func (a adapter) ConfirmTOTP(ctx context.Context, arg sqlitedb.ConfirmTOTPParams) (int64, error) {
	return a.q.ConfirmTOTP(ctx, pgdb.ConfirmTOTPParams(arg))
}

func (a adapter) UseTOTPStep(ctx context.Context, arg sqlitedb.UseTOTPStepParams) (int64, error) {
	return a.q.UseTOTPStep(ctx, pgdb.UseTOTPStepParams(arg))
}

func (a adapter) ResealTOTP(ctx context.Context, arg sqlitedb.ResealTOTPParams) (int64, error) {
	return a.q.ResealTOTP(ctx, pgdb.ResealTOTPParams(arg))
}

func (a adapter) ConfirmedTOTPInRange(ctx context.Context, arg sqlitedb.ConfirmedTOTPInRangeParams) ([]string, error) {
	return a.q.ConfirmedTOTPInRange(ctx, pgdb.ConfirmedTOTPInRangeParams(arg))
}

func (a adapter) DeleteTOTP(ctx context.Context, userID string) (int64, error) {
	return a.q.DeleteTOTP(ctx, userID)
}

func (a adapter) ListTOTPSecretsAfter(ctx context.Context, arg sqlitedb.ListTOTPSecretsAfterParams) ([]sqlitedb.ListTOTPSecretsAfterRow, error) {
	rows, err := a.q.ListTOTPSecretsAfter(ctx, pgdb.ListTOTPSecretsAfterParams(arg))
	return convertAll(rows, func(r pgdb.ListTOTPSecretsAfterRow) sqlitedb.ListTOTPSecretsAfterRow {
		return sqlitedb.ListTOTPSecretsAfterRow(r)
	}), err
}

func (a adapter) CountConfirmedTOTP(ctx context.Context) (int64, error) {
	return a.q.CountConfirmedTOTP(ctx)
}

func (a adapter) InsertRecoveryCode(ctx context.Context, arg sqlitedb.InsertRecoveryCodeParams) error {
	return a.q.InsertRecoveryCode(ctx, pgdb.InsertRecoveryCodeParams(arg))
}

func (a adapter) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	return a.q.DeleteRecoveryCodes(ctx, userID)
}

func (a adapter) UseRecoveryCode(ctx context.Context, arg sqlitedb.UseRecoveryCodeParams) (int64, error) {
	return a.q.UseRecoveryCode(ctx, pgdb.UseRecoveryCodeParams(arg))
}

func (a adapter) CountUnusedRecoveryCodes(ctx context.Context, userID string) (int64, error) {
	return a.q.CountUnusedRecoveryCodes(ctx, userID)
}

func (a adapter) CreateMFAChallenge(ctx context.Context, arg sqlitedb.CreateMFAChallengeParams) error {
	return a.q.CreateMFAChallenge(ctx, pgdb.CreateMFAChallengeParams(arg))
}

func (a adapter) GetMFAChallenge(ctx context.Context, tokenHash string) (sqlitedb.MfaChallenge, error) {
	r, err := a.q.GetMFAChallenge(ctx, tokenHash)
	return sqlitedb.MfaChallenge(r), err
}

func (a adapter) ConsumeMFAChallenge(ctx context.Context, arg sqlitedb.ConsumeMFAChallengeParams) (int64, error) {
	return a.q.ConsumeMFAChallenge(ctx, pgdb.ConsumeMFAChallengeParams(arg))
}

func (a adapter) DeleteSpentMFAChallenges(ctx context.Context, arg sqlitedb.DeleteSpentMFAChallengesParams) error {
	return a.q.DeleteSpentMFAChallenges(ctx, pgdb.DeleteSpentMFAChallengesParams(arg))
}

func (a adapter) DeleteMFAChallenges(ctx context.Context, userID string) error {
	return a.q.DeleteMFAChallenges(ctx, userID)
}

func (a adapter) CreateAccessToken(ctx context.Context, arg sqlitedb.CreateAccessTokenParams) (sqlitedb.AccessToken, error) {
	r, err := a.q.CreateAccessToken(ctx, pgdb.CreateAccessTokenParams(arg))
	return sqlitedb.AccessToken(r), err
}

func (a adapter) ListLiveAccessTokens(ctx context.Context, arg sqlitedb.ListLiveAccessTokensParams) ([]sqlitedb.AccessToken, error) {
	rows, err := a.q.ListLiveAccessTokens(ctx, pgdb.ListLiveAccessTokensParams(arg))
	return convertAll(rows, func(r pgdb.AccessToken) sqlitedb.AccessToken { return sqlitedb.AccessToken(r) }), err
}

func (a adapter) ListExpiredAccessTokens(ctx context.Context, arg sqlitedb.ListExpiredAccessTokensParams) ([]sqlitedb.AccessToken, error) {
	rows, err := a.q.ListExpiredAccessTokens(ctx, pgdb.ListExpiredAccessTokensParams(arg))
	return convertAll(rows, func(r pgdb.AccessToken) sqlitedb.AccessToken { return sqlitedb.AccessToken(r) }), err
}

func (a adapter) CountLiveAccessTokens(ctx context.Context, arg sqlitedb.CountLiveAccessTokensParams) (int64, error) {
	return a.q.CountLiveAccessTokens(ctx, pgdb.CountLiveAccessTokensParams(arg))
}

func (a adapter) AccessTokenAuthState(ctx context.Context, tokenHash string) (sqlitedb.AccessTokenAuthStateRow, error) {
	r, err := a.q.AccessTokenAuthState(ctx, tokenHash)
	return sqlitedb.AccessTokenAuthStateRow(r), err
}

func (a adapter) TouchAccessToken(ctx context.Context, arg sqlitedb.TouchAccessTokenParams) error {
	return a.q.TouchAccessToken(ctx, pgdb.TouchAccessTokenParams(arg))
}

func (a adapter) RevokeAccessToken(ctx context.Context, arg sqlitedb.RevokeAccessTokenParams) (int64, error) {
	return a.q.RevokeAccessToken(ctx, pgdb.RevokeAccessTokenParams(arg))
}

func (a adapter) RevokeUserAccessTokens(ctx context.Context, arg sqlitedb.RevokeUserAccessTokensParams) ([]string, error) {
	return a.q.RevokeUserAccessTokens(ctx, pgdb.RevokeUserAccessTokensParams(arg))
}
