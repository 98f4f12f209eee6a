package sqlstore

import (
	"context"
	"time"

	"secureapi/gen/sqlitedb"
	"secureapi/internal/user"
)

// Users implements user.Store.
type Users struct{ base }

var _ user.Store = (*Users)(nil)

func NewUsers(e Engine) *Users { return &Users{base{e: e}} }

var userUnique = map[string]error{"email": user.ErrEmailTaken, "username": user.ErrUsernameTaken}

func (s *Users) err(err error) error { return s.mapErr(err, user.ErrNotFound, userUnique) }

func (s *Users) Create(ctx context.Context, u user.User) (user.User, error) {
	row, err := s.w().CreateUser(ctx, sqlitedb.CreateUserParams{
		ID: u.ID, Email: u.Email, Username: u.Username, DisplayName: u.DisplayName,
		PasswordHash: u.PasswordHash, Role: string(u.Role), IsActive: u.IsActive,
		EmailVerifiedAt: tsp(u.EmailVerifiedAt), CreatedAt: ts(u.CreatedAt), UpdatedAt: ts(u.UpdatedAt),
	})
	return toUser(row), s.err(err)
}

func (s *Users) ByID(ctx context.Context, id string) (user.User, error) {
	row, err := s.r().GetUserByID(ctx, id)
	return toUser(row), s.err(err)
}

func (s *Users) ByEmail(ctx context.Context, email string) (user.User, error) {
	row, err := s.r().GetUserByEmail(ctx, email)
	return toUser(row), s.err(err)
}

func (s *Users) Update(ctx context.Context, u user.User) (user.User, error) {
	row, err := s.w().UpdateUser(ctx, sqlitedb.UpdateUserParams{
		ID: u.ID, Email: u.Email, Username: u.Username, DisplayName: u.DisplayName,
		Role: string(u.Role), IsActive: u.IsActive, EmailVerifiedAt: tsp(u.EmailVerifiedAt), UpdatedAt: ts(u.UpdatedAt),
	})
	return toUser(row), s.err(err)
}

func (s *Users) SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error {
	n, err := s.w().UpdateUserPassword(ctx, sqlitedb.UpdateUserPasswordParams{ID: id, PasswordHash: hash, UpdatedAt: ts(at)})
	if err != nil {
		return s.err(err)
	}
	if n == 0 {
		return user.ErrNotFound
	}
	return nil
}

func (s *Users) Delete(ctx context.Context, id string) error {
	n, err := s.w().DeleteUser(ctx, id)
	if err != nil {
		return s.err(err)
	}
	if n == 0 {
		return user.ErrNotFound
	}
	return nil
}

func (s *Users) List(ctx context.Context, f user.ListFilter) ([]user.User, error) {
	var active int64
	if f.Active != nil {
		active = 2
		if *f.Active {
			active = 1
		}
	}
	rows, err := s.r().ListUsers(ctx, sqlitedb.ListUsersParams{
		Cursor: beforeID(f.Before), Q: f.Q, Role: string(f.Role), ActiveFilter: active, Lim: clampLimit(f.Limit),
	})
	if err != nil {
		return nil, s.err(err)
	}
	out := make([]user.User, len(rows))
	for i, r := range rows {
		out[i] = toUser(r)
	}
	return out, nil
}

func (s *Users) CountActiveAdmins(ctx context.Context) (int64, error) {
	n, err := s.r().CountAdmins(ctx)
	return n, s.err(err)
}

func toUser(r sqlitedb.User) user.User {
	return user.User{
		ID: r.ID, Email: r.Email, Username: r.Username, DisplayName: r.DisplayName,
		PasswordHash: r.PasswordHash, Role: user.Role(r.Role), IsActive: r.IsActive,
		EmailVerifiedAt: utcp(r.EmailVerifiedAt), CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt),
	}
}
