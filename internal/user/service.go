package user

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"secureapi/internal/audit"
	"secureapi/internal/identity"
	"secureapi/internal/platform/apperr"
)

// Audit actions recorded by the service.
const (
	ActionUpdated     = "user.updated"
	ActionDeleted     = "user.deleted"
	ActionDeactivated = "user.deactivated"
	ActionRoleChanged = "user.role_changed"
)

// ReasonDeactivated is the revocation reason of a deactivated account's sessions.
const ReasonDeactivated = "deactivated"

var (
	ErrWrongPassword = apperr.New(apperr.Forbidden, "Current password is incorrect.")
	ErrAdminRequired = apperr.New(apperr.Forbidden, "Admin role required.")
	ErrSelfChange    = apperr.New(apperr.Forbidden, "You cannot change your own role or activation.")
	ErrSelfDelete    = apperr.New(apperr.Forbidden, "Delete your own account with DELETE /api/v1/users/me.")
	ErrLastAdmin     = apperr.New(apperr.Conflict, "The last active admin cannot be removed.")
	ErrInvalidCursor = apperr.Field("query", "cursor", "Invalid cursor.")
)

// PasswordChecker checks an account's current password under the same
// failed-attempt budget and lockout as logging in (auth.Service), so that a
// stolen access token does not buy unlimited guesses.
type PasswordChecker interface {
	CheckPassword(ctx context.Context, u User, pw string) error
}

// FileRemover deletes stored file content by storage key.
type FileRemover interface {
	RemoveStored(ctx context.Context, keys []string) error
}

// Deps are the Service's collaborators. Store serves single statements; Tx
// runs every change of several rows as one unit of work. Files may be nil
// (no file storage); Audit may be nil.
type Deps struct {
	Store     Store
	Tx        UnitOfWork
	Passwords PasswordChecker
	Files     FileRemover
	Audit     *audit.Service
	Now       func() time.Time
	Log       *slog.Logger
}

// Service applies the account rules: who may see and change which account,
// and the end of an account (deactivation, deletion). Credentials
// (registration, passwords, addresses) belong to package auth.
type Service struct {
	store     Store
	tx        UnitOfWork
	passwords PasswordChecker
	files     FileRemover
	audit     *audit.Service
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
		store: d.Store, tx: d.Tx, passwords: d.Passwords, files: d.Files, audit: d.Audit, now: d.Now, log: d.Log,
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

// recordIn appends to the audit log in st's transaction, so that the event
// and the change it describes commit together or not at all. Call it last
// in the unit of work (see audit.Service.RecordIn).
func (s *Service) recordIn(ctx context.Context, st Stores, e audit.Entry) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.RecordIn(ctx, st.Audit(), e)
}

func requireAdmin(p identity.Principal) error {
	if !p.IsAdmin() {
		return ErrAdminRequired
	}
	return nil
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
	err := s.tx.InTx(ctx, func(st Stores) error {
		u, err := Self(ctx, st.Users(), p)
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
		if out, err = st.Users().Update(ctx, u); err != nil {
			return err
		}
		return s.recordIn(ctx, st, audit.Entry{
			ActorID: p.UserID, Action: ActionUpdated, TargetType: "user", TargetID: p.UserID,
			Details: map[string]any{"fields": changed},
		})
	})
	if err != nil {
		return User{}, err
	}
	return out, nil
}

// DeleteMe deletes the caller's account after checking their password. The
// last active admin cannot leave, so that the service always has one.
func (s *Service) DeleteMe(ctx context.Context, p identity.Principal, pw string) error {
	u, err := Self(ctx, s.store, p)
	if err != nil {
		return err
	}
	if err := s.passwords.CheckPassword(ctx, u, pw); err != nil {
		return err
	}
	if err := s.checkNotLastAdmin(ctx, s.store, u); err != nil {
		return err
	}
	return s.remove(ctx, u, audit.Entry{
		ActorID: p.UserID, Action: ActionDeleted, TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"self": true, "role": string(u.Role)},
	})
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

// remove deletes u in one unit of work: the row (sessions, tokens and file
// rows cascade) and the audit event e. The admin count is checked again
// inside the transaction so that two admins leaving at once cannot both
// pass. The files' content goes once the rows are gone for good; content
// that cannot be removed then has no row and is left to file.Service.Sweep.
func (s *Service) remove(ctx context.Context, u User, e audit.Entry) error {
	var keys []string
	err := s.tx.InTx(ctx, func(st Stores) error {
		if err := s.checkNotLastAdmin(ctx, st.Users(), u); err != nil {
			return err
		}
		var err error
		if keys, err = st.Files().StorageKeysByOwner(ctx, u.ID); err != nil {
			return err
		}
		if err := st.Users().Delete(ctx, u.ID); err != nil {
			return err
		}
		return s.recordIn(ctx, st, e)
	})
	if err != nil {
		return err
	}
	if s.files != nil && len(keys) > 0 {
		// The account is gone either way; RemoveStored logs what it left.
		_ = s.files.RemoveStored(context.WithoutCancel(ctx), keys)
	}
	return nil
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
	err := s.tx.InTx(ctx, func(st Stores) error {
		u, err := st.Users().ByID(ctx, id)
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
			if err := s.checkNotLastAdmin(ctx, st.Users(), before); err != nil {
				return err
			}
		}
		at := s.at()
		u.UpdatedAt = at
		if out, err = st.Users().Update(ctx, u); err != nil {
			return err
		}
		var events []audit.Entry
		if activation != nil && !*activation {
			// Deactivation ends every session in the same transaction.
			revoked, err := st.Sessions().RevokeUserSessions(ctx, out.ID, "", ReasonDeactivated, at)
			if err != nil {
				return err
			}
			tokens, err := st.AccessTokens().RevokeAll(ctx, out.ID, ReasonDeactivated, at)
			if err != nil {
				return err
			}
			events = append(events, audit.Entry{
				ActorID: p.UserID, Action: ActionDeactivated, TargetType: "user", TargetID: out.ID,
				Details: map[string]any{"revoked_sessions": len(revoked), "revoked_pats": len(tokens)},
			})
		}
		if roleChange {
			events = append(events, audit.Entry{
				ActorID: p.UserID, Action: ActionRoleChanged, TargetType: "user", TargetID: out.ID,
				Details: map[string]any{"from": string(before.Role), "to": string(out.Role)},
			})
		}
		if len(changed) > 0 {
			slices.Sort(changed)
			events = append(events, audit.Entry{
				ActorID: p.UserID, Action: ActionUpdated, TargetType: "user", TargetID: out.ID,
				Details: map[string]any{"fields": changed},
			})
		}
		for _, e := range events {
			if err := s.recordIn(ctx, st, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return User{}, err
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
	return s.remove(ctx, u, audit.Entry{
		ActorID: p.UserID, Action: ActionDeleted, TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"self": false, "role": string(u.Role)},
	})
}
