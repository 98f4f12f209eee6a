package postgres

import (
	"context"
	"time"

	"secureapi/gen/pgdb"
	"secureapi/gen/sqlitedb"
	"secureapi/internal/store/sqlstore"
)

// adapter presents pgdb's queries as the shared sqlstore.Querier. sqlc emits
// the same field names and types for both engines, so every row and parameter
// type converts directly; the compiler checks each conversion, and a query
// added to db/queries fails to build here until its method is added.
type adapter struct{ q *pgdb.Queries }

var _ sqlstore.Querier = adapter{}

func convertAll[T, U any](in []T, f func(T) U) []U {
	if in == nil {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

func (a adapter) AdvanceAuditChain(ctx context.Context) (sqlitedb.AdvanceAuditChainRow, error) {
	r, err := a.q.AdvanceAuditChain(ctx)
	return sqlitedb.AdvanceAuditChainRow(r), err
}

func (a adapter) AuditEventsAfter(ctx context.Context, arg sqlitedb.AuditEventsAfterParams) ([]sqlitedb.AuditEvent, error) {
	rows, err := a.q.AuditEventsAfter(ctx, pgdb.AuditEventsAfterParams(arg))
	return convertAll(rows, func(r pgdb.AuditEvent) sqlitedb.AuditEvent { return sqlitedb.AuditEvent(r) }), err
}

func (a adapter) ConsumeMailToken(ctx context.Context, arg sqlitedb.ConsumeMailTokenParams) (sqlitedb.ConsumeMailTokenRow, error) {
	r, err := a.q.ConsumeMailToken(ctx, pgdb.ConsumeMailTokenParams(arg))
	return sqlitedb.ConsumeMailTokenRow(r), err
}

func (a adapter) CountAdmins(ctx context.Context) (int64, error) {
	return a.q.CountAdmins(ctx)
}

func (a adapter) CreateFile(ctx context.Context, arg sqlitedb.CreateFileParams) (sqlitedb.File, error) {
	r, err := a.q.CreateFile(ctx, pgdb.CreateFileParams(arg))
	return sqlitedb.File(r), err
}

func (a adapter) CreateMailToken(ctx context.Context, arg sqlitedb.CreateMailTokenParams) error {
	return a.q.CreateMailToken(ctx, pgdb.CreateMailTokenParams(arg))
}

func (a adapter) CreateSession(ctx context.Context, arg sqlitedb.CreateSessionParams) (sqlitedb.Session, error) {
	r, err := a.q.CreateSession(ctx, pgdb.CreateSessionParams(arg))
	return sqlitedb.Session(r), err
}

func (a adapter) CreateUser(ctx context.Context, arg sqlitedb.CreateUserParams) (sqlitedb.User, error) {
	r, err := a.q.CreateUser(ctx, pgdb.CreateUserParams(arg))
	return sqlitedb.User(r), err
}

func (a adapter) CurrentRefreshToken(ctx context.Context, sessionID string) (sqlitedb.RefreshToken, error) {
	r, err := a.q.CurrentRefreshToken(ctx, sessionID)
	return sqlitedb.RefreshToken(r), err
}

func (a adapter) DeleteFile(ctx context.Context, id string) (int64, error) {
	return a.q.DeleteFile(ctx, id)
}

func (a adapter) DeleteLoginThrottle(ctx context.Context, key string) error {
	return a.q.DeleteLoginThrottle(ctx, key)
}

func (a adapter) DeleteUser(ctx context.Context, id string) (int64, error) {
	return a.q.DeleteUser(ctx, id)
}

func (a adapter) DeleteMailTokens(ctx context.Context, arg sqlitedb.DeleteMailTokensParams) error {
	return a.q.DeleteMailTokens(ctx, pgdb.DeleteMailTokensParams(arg))
}

func (a adapter) GetAuditChain(ctx context.Context) (sqlitedb.GetAuditChainRow, error) {
	r, err := a.q.GetAuditChain(ctx)
	return sqlitedb.GetAuditChainRow(r), err
}

func (a adapter) GetFile(ctx context.Context, id string) (sqlitedb.File, error) {
	r, err := a.q.GetFile(ctx, id)
	return sqlitedb.File(r), err
}

func (a adapter) GetLoginThrottle(ctx context.Context, key string) (sqlitedb.LoginThrottle, error) {
	r, err := a.q.GetLoginThrottle(ctx, key)
	return sqlitedb.LoginThrottle(r), err
}

func (a adapter) GetRefreshToken(ctx context.Context, tokenHash string) (sqlitedb.RefreshToken, error) {
	r, err := a.q.GetRefreshToken(ctx, tokenHash)
	return sqlitedb.RefreshToken(r), err
}

func (a adapter) GetSession(ctx context.Context, id string) (sqlitedb.Session, error) {
	r, err := a.q.GetSession(ctx, id)
	return sqlitedb.Session(r), err
}

func (a adapter) GetUserByEmail(ctx context.Context, email string) (sqlitedb.User, error) {
	r, err := a.q.GetUserByEmail(ctx, email)
	return sqlitedb.User(r), err
}

func (a adapter) GetUserByID(ctx context.Context, id string) (sqlitedb.User, error) {
	r, err := a.q.GetUserByID(ctx, id)
	return sqlitedb.User(r), err
}

func (a adapter) InsertAuditEvent(ctx context.Context, arg sqlitedb.InsertAuditEventParams) error {
	return a.q.InsertAuditEvent(ctx, pgdb.InsertAuditEventParams(arg))
}

func (a adapter) InsertRefreshToken(ctx context.Context, arg sqlitedb.InsertRefreshTokenParams) error {
	return a.q.InsertRefreshToken(ctx, pgdb.InsertRefreshTokenParams(arg))
}

func (a adapter) ListActiveSessions(ctx context.Context, arg sqlitedb.ListActiveSessionsParams) ([]sqlitedb.Session, error) {
	rows, err := a.q.ListActiveSessions(ctx, pgdb.ListActiveSessionsParams(arg))
	return convertAll(rows, func(r pgdb.Session) sqlitedb.Session { return sqlitedb.Session(r) }), err
}

func (a adapter) ListAuditEvents(ctx context.Context, arg sqlitedb.ListAuditEventsParams) ([]sqlitedb.AuditEvent, error) {
	rows, err := a.q.ListAuditEvents(ctx, pgdb.ListAuditEventsParams(arg))
	return convertAll(rows, func(r pgdb.AuditEvent) sqlitedb.AuditEvent { return sqlitedb.AuditEvent(r) }), err
}

func (a adapter) ListFilesAfter(ctx context.Context, arg sqlitedb.ListFilesAfterParams) ([]sqlitedb.File, error) {
	rows, err := a.q.ListFilesAfter(ctx, pgdb.ListFilesAfterParams(arg))
	return convertAll(rows, func(r pgdb.File) sqlitedb.File { return sqlitedb.File(r) }), err
}

func (a adapter) ListFilesByOwner(ctx context.Context, arg sqlitedb.ListFilesByOwnerParams) ([]sqlitedb.File, error) {
	rows, err := a.q.ListFilesByOwner(ctx, pgdb.ListFilesByOwnerParams(arg))
	return convertAll(rows, func(r pgdb.File) sqlitedb.File { return sqlitedb.File(r) }), err
}

func (a adapter) ListStorageKeysByOwner(ctx context.Context, ownerID string) ([]string, error) {
	return a.q.ListStorageKeysByOwner(ctx, ownerID)
}

func (a adapter) ListUsers(ctx context.Context, arg sqlitedb.ListUsersParams) ([]sqlitedb.User, error) {
	rows, err := a.q.ListUsers(ctx, pgdb.ListUsersParams(arg))
	return convertAll(rows, func(r pgdb.User) sqlitedb.User { return sqlitedb.User(r) }), err
}

func (a adapter) MarkRefreshTokenReplaced(ctx context.Context, arg sqlitedb.MarkRefreshTokenReplacedParams) (int64, error) {
	return a.q.MarkRefreshTokenReplaced(ctx, pgdb.MarkRefreshTokenReplacedParams(arg))
}

func (a adapter) OwnerUsage(ctx context.Context, ownerID string) (int64, error) {
	return a.q.OwnerUsage(ctx, ownerID)
}

func (a adapter) RevokeSession(ctx context.Context, arg sqlitedb.RevokeSessionParams) (int64, error) {
	return a.q.RevokeSession(ctx, pgdb.RevokeSessionParams(arg))
}

func (a adapter) RevokeUserSessions(ctx context.Context, arg sqlitedb.RevokeUserSessionsParams) ([]string, error) {
	return a.q.RevokeUserSessions(ctx, pgdb.RevokeUserSessionsParams(arg))
}

func (a adapter) SessionAuthState(ctx context.Context, id string) (sqlitedb.SessionAuthStateRow, error) {
	r, err := a.q.SessionAuthState(ctx, id)
	return sqlitedb.SessionAuthStateRow(r), err
}

func (a adapter) SetAuditChainHash(ctx context.Context, lastHash string) error {
	return a.q.SetAuditChainHash(ctx, lastHash)
}

func (a adapter) StorageKeyExists(ctx context.Context, storageKey string) (int64, error) {
	return a.q.StorageKeyExists(ctx, storageKey)
}

func (a adapter) TouchSession(ctx context.Context, arg sqlitedb.TouchSessionParams) error {
	return a.q.TouchSession(ctx, pgdb.TouchSessionParams(arg))
}

func (a adapter) UpdateUser(ctx context.Context, arg sqlitedb.UpdateUserParams) (sqlitedb.User, error) {
	r, err := a.q.UpdateUser(ctx, pgdb.UpdateUserParams(arg))
	return sqlitedb.User(r), err
}

func (a adapter) UpdateUserPassword(ctx context.Context, arg sqlitedb.UpdateUserPasswordParams) (int64, error) {
	return a.q.UpdateUserPassword(ctx, pgdb.UpdateUserPasswordParams(arg))
}

func (a adapter) UpsertLoginThrottle(ctx context.Context, arg sqlitedb.UpsertLoginThrottleParams) error {
	return a.q.UpsertLoginThrottle(ctx, pgdb.UpsertLoginThrottleParams(arg))
}

func (a adapter) LockLoginThrottle(ctx context.Context, arg sqlitedb.LockLoginThrottleParams) (sqlitedb.LoginThrottle, error) {
	r, err := a.q.LockLoginThrottle(ctx, pgdb.LockLoginThrottleParams(arg))
	return sqlitedb.LoginThrottle(r), err
}

func (a adapter) LockUser(ctx context.Context, id string) (int64, error) {
	return a.q.LockUser(ctx, id)
}

func (a adapter) LockMailRecipient(ctx context.Context, arg sqlitedb.LockMailRecipientParams) error {
	return a.q.LockMailRecipient(ctx, pgdb.LockMailRecipientParams(arg))
}

func (a adapter) CountRecentMail(ctx context.Context, arg sqlitedb.CountRecentMailParams) (int64, error) {
	return a.q.CountRecentMail(ctx, pgdb.CountRecentMailParams(arg))
}

func (a adapter) InsertMail(ctx context.Context, arg sqlitedb.InsertMailParams) error {
	return a.q.InsertMail(ctx, pgdb.InsertMailParams(arg))
}

func (a adapter) ClaimMail(ctx context.Context, arg sqlitedb.ClaimMailParams) ([]sqlitedb.MailOutbox, error) {
	rows, err := a.q.ClaimMail(ctx, pgdb.ClaimMailParams(arg))
	return convertAll(rows, func(r pgdb.MailOutbox) sqlitedb.MailOutbox { return sqlitedb.MailOutbox(r) }), err
}

func (a adapter) MarkMailSent(ctx context.Context, arg sqlitedb.MarkMailSentParams) (int64, error) {
	return a.q.MarkMailSent(ctx, pgdb.MarkMailSentParams(arg))
}

func (a adapter) RetryMail(ctx context.Context, arg sqlitedb.RetryMailParams) (int64, error) {
	return a.q.RetryMail(ctx, pgdb.RetryMailParams(arg))
}

func (a adapter) FailMail(ctx context.Context, arg sqlitedb.FailMailParams) (int64, error) {
	return a.q.FailMail(ctx, pgdb.FailMailParams(arg))
}

func (a adapter) PurgeMail(ctx context.Context, before time.Time) (int64, error) {
	return a.q.PurgeMail(ctx, before)
}

func (a adapter) PurgeMailRecipients(ctx context.Context, before time.Time) (int64, error) {
	return a.q.PurgeMailRecipients(ctx, before)
}

func (a adapter) CountPendingMail(ctx context.Context) (int64, error) {
	return a.q.CountPendingMail(ctx)
}
