package user

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"secureapi/internal/audit"
	"secureapi/internal/identity"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/password"
)

// Audit actions recorded by the service.
const (
	ActionUpdated         = "user.updated"
	ActionPasswordChanged = "user.password_changed"
	ActionDeleted         = "user.deleted"
	ActionDeactivated     = "user.deactivated"
	ActionRoleChanged     = "user.role_changed"
	ActionAdminCreated    = "user.admin_created"
)

// Session revocation reasons.
const (
	ReasonPasswordChanged = "password_changed"
	ReasonDeactivated     = "deactivated"
)

var (
	ErrWrongPassword = apperr.New(apperr.Forbidden, "Current password is incorrect.")
	ErrAdminRequired = apperr.New(apperr.Forbidden, "Admin role required.")
	ErrSelfChange    = apperr.New(apperr.Forbidden, "You cannot change your own role or activation.")
	ErrSelfDelete    = apperr.New(apperr.Forbidden, "Delete your own account with DELETE /api/v1/users/me.")
	ErrLastAdmin     = apperr.New(apperr.Conflict, "The last active admin cannot be removed.")
	ErrBusy          = apperr.Retry(apperr.Unavailable, "Server busy, retry shortly.", time.Second)
	ErrInvalidCursor = apperr.Field("query", "cursor", "Invalid cursor.")
)

// SessionRevoker ends an account's other ways in when its credentials change.
// RevokeUserSessions revokes every live session of userID except exceptID
// ("" for none) and returns the revoked ids; DeletePasswordResets voids the
// reset links already mailed, which the old password's holder may have asked for.
type SessionRevoker interface {
	RevokeUserSessions(ctx context.Context, userID, exceptID, reason string, at time.Time) ([]string, error)
	DeletePasswordResets(ctx context.Context, userID string) error
}

// PasswordChecker checks an account's current password under the same
// failed-attempt budget and lockout as logging in (auth.Service), so that a
// stolen access token does not buy unlimited guesses.
type PasswordChecker interface {
	CheckPassword(ctx context.Context, u User, pw string) error
}

// FileRemover deletes the stored content of every file an account owns.
type FileRemover interface {
	RemoveOwnerFiles(ctx context.Context, ownerID string) error
}

// Deps are the Service's collaborators. Files may be nil (no file storage);
// Passwords may be nil only in tests (the hasher then checks alone, with no
// failure budget).
type Deps struct {
	Store     Store
	Sessions  SessionRevoker
	Passwords PasswordChecker
	Files     FileRemover
	Audit     *audit.Service
	Hasher    *password.Hasher
	Policy    password.Policy
	Now       func() time.Time
	Log       *slog.Logger
}

// Service applies the account rules: who may see and change which account.
type Service struct {
	store     Store
	sessions  SessionRevoker
	passwords PasswordChecker
	files     FileRemover
	audit     *audit.Service
	hasher    *password.Hasher
	policy    password.Policy
	now       func() time.Time
	log       *slog.Logger
}

// NewService returns a Service; Now defaults to time.Now and Log to slog.Default.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Service{
		store: d.Store, sessions: d.Sessions, passwords: d.Passwords, files: d.Files, audit: d.Audit,
		hasher: d.Hasher, policy: d.Policy, now: d.Now, log: d.Log,
	}
}

// Patch is a change to the caller's own profile; nil fields stay as they are.
// The address is not part of it: changing it needs the password and a
// confirmation from the new mailbox (auth.Service.RequestEmailChange).
type Patch struct {
	DisplayName *string
	Username    *string
}

// AdminPatch is an admin's change to an account; nil fields stay as they are.
type AdminPatch struct {
	Role        *Role
	IsActive    *bool
	DisplayName *string
}

const (
	defaultPageSize = 20
	maxPageSize     = 100
)

func (s *Service) at() time.Time { return s.now().UTC() }

// record appends to the audit log after the change it describes is
// committed. A failed append cannot undo that change, so it is logged (by
// the audit service) rather than reported to the caller as a failure.
func (s *Service) record(ctx context.Context, e audit.Entry) {
	if s.audit == nil {
		return
	}
	_ = s.audit.Record(ctx, e)
}

// verify checks pw, u's current password. A mismatch is ErrWrongPassword;
// with a PasswordChecker, a spent failure budget is a 429.
func (s *Service) verify(ctx context.Context, u User, pw string) error {
	if s.passwords != nil {
		return s.passwords.CheckPassword(ctx, u, pw)
	}
	ok, _, err := s.hasher.Verify(ctx, pw, u.PasswordHash)
	switch {
	case errors.Is(err, password.ErrBusy):
		return ErrBusy
	case err != nil:
		return fmt.Errorf("verify password of %s: %w", u.ID, err)
	case !ok:
		return ErrWrongPassword
	}
	return nil
}

// checkPolicy checks a new password; a failure names field and the rule broken.
func (s *Service) checkPolicy(field, pw string) error {
	err := s.policy.Check(pw)
	if pe, ok := errors.AsType[*password.PolicyError](err); ok {
		return apperr.Field("body", field, pe.Msg)
	}
	return err
}

// newHash checks pw against the policy and hashes it.
func (s *Service) newHash(ctx context.Context, field, pw string) (string, error) {
	if err := s.checkPolicy(field, pw); err != nil {
		return "", err
	}
	h, err := s.hasher.Hash(ctx, pw)
	if errors.Is(err, password.ErrBusy) {
		return "", ErrBusy
	}
	return h, err
}

func requireAdmin(p identity.Principal) error {
	if !p.IsAdmin() {
		return ErrAdminRequired
	}
	return nil
}

// Me returns the caller's account.
func (s *Service) Me(ctx context.Context, p identity.Principal) (User, error) {
	return s.store.ByID(ctx, p.UserID)
}

// UpdateMe changes the caller's profile. Only fields whose value actually
// changes are written and audited (by name, never by value).
func (s *Service) UpdateMe(ctx context.Context, p identity.Principal, patch Patch) (User, error) {
	var (
		out      User
		changed  []string
		username Username
	)
	if patch.Username != nil {
		var err error
		if username, err = ParseUsername(*patch.Username); err != nil {
			return User{}, apperr.Field("body", "username", err.Error())
		}
	}
	err := s.store.InTx(ctx, func(st Store) error {
		u, err := st.ByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		if patch.DisplayName != nil && (u.DisplayName == nil || *u.DisplayName != *patch.DisplayName) {
			u.DisplayName = new(*patch.DisplayName)
			changed = append(changed, "display_name")
		}
		if patch.Username != nil && string(username) != u.Username {
			u.Username = string(username)
			changed = append(changed, "username")
		}
		if len(changed) == 0 {
			out = u
			return nil
		}
		u.UpdatedAt = s.at()
		out, err = st.Update(ctx, u)
		return err
	})
	if err != nil {
		return User{}, err
	}
	if len(changed) > 0 {
		s.record(ctx, audit.Entry{
			ActorID: p.UserID, Action: ActionUpdated, TargetType: "user", TargetID: p.UserID,
			Details: map[string]any{"fields": changed},
		})
	}
	return out, nil
}

// ChangePassword replaces the caller's password after checking the current
// one, and revokes every other session of the account: whoever else holds
// them may be the reason the password is being changed.
func (s *Service) ChangePassword(ctx context.Context, p identity.Principal, current, next string) error {
	u, err := s.store.ByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	// The policy check is free and secret-free, so it goes before the costly verify.
	if err := s.checkPolicy("new_password", next); err != nil {
		return err
	}
	if err := s.verify(ctx, u, current); err != nil {
		return err
	}
	h, err := s.newHash(ctx, "new_password", next)
	if err != nil {
		return err
	}
	// Other sessions and mailed reset links go first, the password last: if
	// a step fails, the account is left with fewer ways in, never with a
	// new password and an intruder's session still open.
	at := s.at()
	revoked, err := s.sessions.RevokeUserSessions(ctx, u.ID, p.SessionID, ReasonPasswordChanged, at)
	if err != nil {
		return fmt.Errorf("revoke sessions before password change: %w", err)
	}
	if err := s.sessions.DeletePasswordResets(ctx, u.ID); err != nil {
		return fmt.Errorf("void reset links before password change: %w", err)
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, h, at); err != nil {
		return err
	}
	s.record(ctx, audit.Entry{
		ActorID: p.UserID, Action: ActionPasswordChanged, TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"revoked_sessions": len(revoked)},
	})
	return nil
}

// DeleteMe deletes the caller's account after checking their password. The
// last active admin cannot leave, so that the service always has one.
func (s *Service) DeleteMe(ctx context.Context, p identity.Principal, pw string) error {
	u, err := s.store.ByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	if err := s.verify(ctx, u, pw); err != nil {
		return err
	}
	if err := s.checkNotLastAdmin(ctx, s.store, u); err != nil {
		return err
	}
	if err := s.remove(ctx, u); err != nil {
		return err
	}
	s.record(ctx, audit.Entry{
		ActorID: p.UserID, Action: ActionDeleted, TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"self": true, "role": string(u.Role)},
	})
	return nil
}

// checkNotLastAdmin refuses when u is the only active admin.
func (s *Service) checkNotLastAdmin(ctx context.Context, st Store, u User) error {
	if u.Role != RoleAdmin || !u.IsActive {
		return nil
	}
	n, err := st.CountActiveAdmins(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return ErrLastAdmin
	}
	return nil
}

// remove deletes u's stored files and then the row (sessions, tokens and
// file rows cascade). Files go first: once the row is gone nothing would
// point at the orphaned content any more. The admin count is checked again
// inside the transaction so that two admins leaving at once cannot both pass.
func (s *Service) remove(ctx context.Context, u User) error {
	if s.files != nil {
		if err := s.files.RemoveOwnerFiles(ctx, u.ID); err != nil {
			return fmt.Errorf("remove files of %s: %w", u.ID, err)
		}
	}
	return s.store.InTx(ctx, func(st Store) error {
		if err := s.checkNotLastAdmin(ctx, st, u); err != nil {
			return err
		}
		return st.Delete(ctx, u.ID)
	})
}

// List returns a page of accounts (newest first) and the cursor of the next
// page ("" when this is the last).
func (s *Service) List(ctx context.Context, p identity.Principal, f ListFilter) ([]User, string, error) {
	if err := requireAdmin(p); err != nil {
		return nil, "", err
	}
	if f.Before != "" {
		id, err := parseID(f.Before)
		if err != nil {
			return nil, "", ErrInvalidCursor
		}
		f.Before = id
	}
	// LIKE has no escape character on SQLite and `\` on PostgreSQL; without
	// backslashes the pattern means the same on both engines.
	f.Q = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(f.Q)), `\`, "")
	limit := f.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	limit = min(limit, maxPageSize)
	f.Limit = limit + 1
	us, err := s.store.List(ctx, f)
	if err != nil {
		return nil, "", err
	}
	if len(us) > limit {
		us = us[:limit]
		return us, us[limit-1].ID, nil
	}
	return us, "", nil
}

// parseID accepts only the canonical lower-case form, the one ids are
// stored in, since SQLite compares them as text.
func parseID(s string) (string, error) {
	id, err := uuid.Parse(s)
	if err != nil || id.String() != s {
		return "", errors.New("not a canonical uuid")
	}
	return s, nil
}

// Get returns any account (admin only).
func (s *Service) Get(ctx context.Context, p identity.Principal, id string) (User, error) {
	if err := requireAdmin(p); err != nil {
		return User{}, err
	}
	return s.store.ByID(ctx, id)
}

// Update changes an account's role, activation or display name (admin only).
// An admin cannot change their own role or activation: an admin locking
// themself out, or the last admin stepping down, needs a second admin.
// Deactivation revokes every session of the account at once.
func (s *Service) Update(ctx context.Context, p identity.Principal, id string, patch AdminPatch) (User, error) {
	if err := requireAdmin(p); err != nil {
		return User{}, err
	}
	var (
		out        User
		before     User
		changed    []string
		roleChange bool
		activation *bool
	)
	err := s.store.InTx(ctx, func(st Store) error {
		u, err := st.ByID(ctx, id)
		if err != nil {
			return err
		}
		before = u
		if patch.Role != nil && *patch.Role != u.Role {
			roleChange = true
			u.Role = *patch.Role
		}
		if patch.IsActive != nil && *patch.IsActive != u.IsActive {
			activation = new(*patch.IsActive)
			u.IsActive = *patch.IsActive
		}
		if (roleChange || activation != nil) && u.ID == p.UserID {
			return ErrSelfChange
		}
		if patch.DisplayName != nil && (u.DisplayName == nil || *u.DisplayName != *patch.DisplayName) {
			u.DisplayName = new(*patch.DisplayName)
			changed = append(changed, "display_name")
		}
		if activation != nil && *activation {
			changed = append(changed, "is_active")
		}
		if !roleChange && activation == nil && len(changed) == 0 {
			out = u
			return nil
		}
		// Two admins demoting or deactivating each other at once must not
		// leave the service without one.
		if before.Role == RoleAdmin && before.IsActive && (u.Role != RoleAdmin || !u.IsActive) {
			if err := s.checkNotLastAdmin(ctx, st, before); err != nil {
				return err
			}
		}
		u.UpdatedAt = s.at()
		out, err = st.Update(ctx, u)
		return err
	})
	if err != nil {
		return User{}, err
	}
	if activation != nil && !*activation {
		revoked, err := s.sessions.RevokeUserSessions(ctx, out.ID, "", ReasonDeactivated, s.at())
		if err != nil {
			// The account is already inactive, which every request checks,
			// so its tokens stop working even though revocation failed.
			return User{}, fmt.Errorf("revoke sessions of deactivated %s: %w", out.ID, err)
		}
		s.record(ctx, audit.Entry{
			ActorID: p.UserID, Action: ActionDeactivated, TargetType: "user", TargetID: out.ID,
			Details: map[string]any{"revoked_sessions": len(revoked)},
		})
	}
	if roleChange {
		s.record(ctx, audit.Entry{
			ActorID: p.UserID, Action: ActionRoleChanged, TargetType: "user", TargetID: out.ID,
			Details: map[string]any{"from": string(before.Role), "to": string(out.Role)},
		})
	}
	if len(changed) > 0 {
		slices.Sort(changed)
		s.record(ctx, audit.Entry{
			ActorID: p.UserID, Action: ActionUpdated, TargetType: "user", TargetID: out.ID,
			Details: map[string]any{"fields": changed},
		})
	}
	return out, nil
}

// Delete deletes another account (admin only); admins delete their own
// account through DeleteMe, which asks for their password.
func (s *Service) Delete(ctx context.Context, p identity.Principal, id string) error {
	if err := requireAdmin(p); err != nil {
		return err
	}
	if id == p.UserID {
		return ErrSelfDelete
	}
	u, err := s.store.ByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.remove(ctx, u); err != nil {
		return err
	}
	s.record(ctx, audit.Entry{
		ActorID: p.UserID, Action: ActionDeleted, TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"self": false, "role": string(u.Role)},
	})
	return nil
}

// CreateAdmin creates an active admin account. It serves the command line,
// which has no request validator in front of it, so it checks the input
// the API schema would have checked.
func (s *Service) CreateAdmin(ctx context.Context, rawEmail, rawUsername, pw string) (User, error) {
	email, err := ParseEmail(rawEmail)
	if err != nil {
		return User{}, apperr.Field("body", "email", err.Error())
	}
	username, err := ParseUsername(rawUsername)
	if err != nil {
		return User{}, apperr.Field("body", "username", err.Error())
	}
	h, err := s.newHash(ctx, "password", pw)
	if err != nil {
		return User{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return User{}, err
	}
	at := s.at()
	u, err := s.store.Create(ctx, User{
		ID: id.String(), Email: string(email), Username: string(username), PasswordHash: h,
		Role: RoleAdmin, IsActive: true, CreatedAt: at, UpdatedAt: at,
	})
	if err != nil {
		return User{}, err
	}
	s.record(ctx, audit.Entry{
		Action: ActionAdminCreated, TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"via": "cli"},
	})
	return u, nil
}
