package sqlstore

import (
	"context"
	"time"

	"secureapi/gen/sqlitedb"
	"secureapi/internal/auth"
)

// MFA implements auth.MFAStore.
type MFA struct{ base }

var _ auth.MFAStore = (*MFA)(nil)

func NewMFA(e Engine) *MFA { return &MFA{base{e: e}} }

func (s *MFA) err(err error) error { return s.mapErr(err, auth.ErrNotFound, nil) }

func (s *MFA) TOTP(ctx context.Context, userID string) (auth.TOTP, error) {
	r, err := s.r().GetTOTP(ctx, userID)
	if err != nil {
		return auth.TOTP{}, s.err(err)
	}
	return auth.TOTP{
		UserID: r.UserID, Secret: r.Secret, ConfirmedAt: utcp(r.ConfirmedAt), LastUsedStep: r.LastUsedStep,
		CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt),
	}, nil
}

func (s *MFA) StartTOTP(ctx context.Context, userID, sealed string, now time.Time) (bool, error) {
	n, err := s.w().StartTOTP(ctx, sqlitedb.StartTOTPParams{UserID: userID, Secret: sealed, Now: ts(now)})
	return n > 0, s.err(err)
}

func (s *MFA) ConfirmTOTP(ctx context.Context, userID, sealed string, step int64, now time.Time) (bool, error) {
	n, err := s.w().ConfirmTOTP(ctx, sqlitedb.ConfirmTOTPParams{UserID: userID, Secret: sealed, Step: step, Now: tsp(&now)})
	return n > 0, s.err(err)
}

func (s *MFA) UseTOTPStep(ctx context.Context, userID string, step int64, now time.Time) (bool, error) {
	n, err := s.w().UseTOTPStep(ctx, sqlitedb.UseTOTPStepParams{UserID: userID, Step: step, Now: ts(now)})
	return n > 0, s.err(err)
}

func (s *MFA) ResealTOTP(ctx context.Context, userID, oldSealed, newSealed string) (bool, error) {
	n, err := s.w().ResealTOTP(ctx, sqlitedb.ResealTOTPParams{UserID: userID, OldSecret: oldSealed, NewSecret: newSealed})
	return n > 0, s.err(err)
}

func (s *MFA) DeleteTOTP(ctx context.Context, userID string) (bool, error) {
	n, err := s.w().DeleteTOTP(ctx, userID)
	return n > 0, s.err(err)
}

func (s *MFA) TOTPSecretsAfter(ctx context.Context, afterUserID string, limit int) ([]auth.SealedSecret, error) {
	if afterUserID == "" {
		afterUserID = nilID
	}
	rows, err := s.r().ListTOTPSecretsAfter(ctx, sqlitedb.ListTOTPSecretsAfterParams{After: afterUserID, Lim: clampLimit(limit)})
	if err != nil {
		return nil, s.err(err)
	}
	out := make([]auth.SealedSecret, len(rows))
	for i, r := range rows {
		out[i] = auth.SealedSecret{UserID: r.UserID, Secret: r.Secret}
	}
	return out, nil
}

func (s *MFA) ConfirmedTOTPInRange(ctx context.Context, lo, hi string) ([]string, error) {
	ids, err := s.r().ConfirmedTOTPInRange(ctx, sqlitedb.ConfirmedTOTPInRangeParams{Lo: lo, Hi: hi})
	return ids, s.err(err)
}

func (s *MFA) CountConfirmedTOTP(ctx context.Context) (int64, error) {
	n, err := s.r().CountConfirmedTOTP(ctx)
	return n, s.err(err)
}

func (s *MFA) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, now time.Time) error {
	return s.inTx(ctx, func(b base) error {
		if err := b.tx.DeleteRecoveryCodes(ctx, userID); err != nil {
			return s.err(err)
		}
		for _, h := range hashes {
			if err := b.tx.InsertRecoveryCode(ctx, sqlitedb.InsertRecoveryCodeParams{CodeHash: h, UserID: userID, CreatedAt: ts(now)}); err != nil {
				return s.err(err)
			}
		}
		return nil
	})
}

func (s *MFA) UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) (bool, error) {
	n, err := s.w().UseRecoveryCode(ctx, sqlitedb.UseRecoveryCodeParams{UserID: userID, CodeHash: hash, Now: tsp(&now)})
	return n > 0, s.err(err)
}

func (s *MFA) CountRecoveryCodes(ctx context.Context, userID string) (int64, error) {
	n, err := s.r().CountUnusedRecoveryCodes(ctx, userID)
	return n, s.err(err)
}

func (s *MFA) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	return s.err(s.w().DeleteRecoveryCodes(ctx, userID))
}

func (s *MFA) CreateMFAChallenge(ctx context.Context, c auth.MFAChallenge) error {
	return s.err(s.w().CreateMFAChallenge(ctx, sqlitedb.CreateMFAChallengeParams{
		TokenHash: c.Hash, UserID: c.UserID, PasswordFp: c.PasswordFP, CreatedAt: ts(c.CreatedAt), ExpiresAt: ts(c.ExpiresAt),
	}))
}

func (s *MFA) MFAChallenge(ctx context.Context, hash string) (auth.MFAChallenge, error) {
	r, err := s.r().GetMFAChallenge(ctx, hash)
	if err != nil {
		return auth.MFAChallenge{}, s.err(err)
	}
	return auth.MFAChallenge{
		Hash: r.TokenHash, UserID: r.UserID, PasswordFP: r.PasswordFp,
		CreatedAt: utc(r.CreatedAt), ExpiresAt: utc(r.ExpiresAt), UsedAt: utcp(r.UsedAt),
	}, nil
}

func (s *MFA) ConsumeMFAChallenge(ctx context.Context, hash string, now time.Time) (bool, error) {
	n, err := s.w().ConsumeMFAChallenge(ctx, sqlitedb.ConsumeMFAChallengeParams{TokenHash: hash, Now: tsp(&now)})
	return n > 0, s.err(err)
}

func (s *MFA) DeleteSpentMFAChallenges(ctx context.Context, userID string, now time.Time) error {
	return s.err(s.w().DeleteSpentMFAChallenges(ctx, sqlitedb.DeleteSpentMFAChallengesParams{UserID: userID, Now: ts(now)}))
}

func (s *MFA) DeleteMFAChallenges(ctx context.Context, userID string) error {
	return s.err(s.w().DeleteMFAChallenges(ctx, userID))
}
