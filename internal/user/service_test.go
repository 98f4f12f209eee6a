package user_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"secureapi/internal/audit"
	"secureapi/internal/auth"
	"secureapi/internal/file"
	"secureapi/internal/identity"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/password"
	"secureapi/internal/store"
	"secureapi/internal/store/sqlstore"
	"secureapi/internal/testutil/testdb"
	"secureapi/internal/user"
)

const pw = "Correct-Horse-9"

// fastHasher keeps tests quick; the cost parameters do not change behaviour.
var fastHasher = sync.OnceValue(func() *password.Hasher {
	return password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, password.Limits{Concurrency: 4, QueueDepth: 8, QueueTimeout: time.Second})
})

type fakeFiles struct {
	mu      sync.Mutex
	removed []string
	err     error
}

func (f *fakeFiles) RemoveStored(_ context.Context, keys []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.removed = append(f.removed, keys...)
	return nil
}

type fixture struct {
	t      *testing.T
	ctx    context.Context
	db     store.DB
	stores store.Stores
	audit  *audit.Service
	files  *fakeFiles
	svc    *user.Service
}

func newFixture(t *testing.T, db store.DB) *fixture {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := store.New(db)
	f := &fixture{t: t, ctx: context.Background(), db: db, stores: st, files: &fakeFiles{}}
	f.audit = audit.NewService(st.Audit, log, nil)
	// The current-password check of DeleteMe is the credentials owner's.
	creds := auth.NewService(auth.Deps{
		Users: st.Users, Sessions: st.Sessions, Audit: f.audit, Hasher: fastHasher(), Log: log,
		Tx: store.Unit(db, func(tx *sqlstore.Tx) auth.Stores { return tx }),
	})
	f.svc = user.NewService(user.Deps{
		Store: st.Users, Tx: store.Unit(db, func(tx *sqlstore.Tx) user.Stores { return tx }),
		Passwords: creds, Files: f.files, Audit: f.audit, Log: log,
	})
	return f
}

// user creates an account directly in the store and returns its principal.
func (f *fixture) user(name string, role user.Role) identity.Principal {
	f.t.Helper()
	h, err := fastHasher().Hash(f.ctx, pw)
	if err != nil {
		f.t.Fatal(err)
	}
	now := time.Now().UTC()
	u, err := f.stores.Users.Create(f.ctx, user.User{
		ID: uuid.Must(uuid.NewV7()).String(), Email: name + "@example.com", Username: name,
		PasswordHash: h, Role: role, IsActive: true, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return identity.Principal{UserID: u.ID, SessionID: f.session(u.ID), Role: string(role)}
}

func (f *fixture) session(userID string) string {
	f.t.Helper()
	now := time.Now().UTC()
	s, err := f.stores.Sessions.CreateSession(f.ctx, auth.Session{
		ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, UserAgent: "test", IP: "127.0.0.1",
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return s.ID
}

func (f *fixture) revoked(sessionID string) bool {
	f.t.Helper()
	s, err := f.stores.Sessions.Session(f.ctx, sessionID)
	if err != nil {
		f.t.Fatal(err)
	}
	return s.RevokedAt != nil
}

// events returns the audit events with action, oldest first.
func (f *fixture) events(action string) []audit.Event {
	f.t.Helper()
	evs, _, err := f.audit.List(f.ctx, audit.Filter{Action: action, Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	slices.Reverse(evs)
	return evs
}

func details(t *testing.T, ev audit.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(ev.Details), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func wantKind(t *testing.T, err error, kind apperr.Kind) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != kind {
		t.Fatalf("err = %v, want apperr kind %d", err, kind)
	}
	return e
}

func ptr[T any](v T) *T { return &v }

func TestMeAndUpdateMe(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db)
		alice := f.user("alice", user.RoleUser)
		f.user("bob", user.RoleUser)

		me, err := user.Self(f.ctx, f.stores.Users, alice)
		if err != nil || me.Username != "alice" {
			t.Fatalf("Me = %+v, %v", me, err)
		}

		u, err := f.svc.UpdateMe(f.ctx, alice, user.Patch{
			DisplayName: ptr("Alice L."), Username: ptr("  Alice2 "),
		})
		if err != nil {
			t.Fatal(err)
		}
		if u.Username != "alice2" || u.Email != "alice@example.com" || u.DisplayName == nil || *u.DisplayName != "Alice L." {
			t.Fatalf("not normalized: %+v", u)
		}
		evs := f.events(user.ActionUpdated)
		if len(evs) != 1 {
			t.Fatalf("%d user.updated events, want 1", len(evs))
		}
		d := details(t, evs[0])
		if fmt.Sprint(d["fields"]) != "[display_name username]" {
			t.Errorf("fields = %v", d["fields"])
		}
		if strings.Contains(evs[0].Details, "example.com") {
			t.Errorf("audit details hold an email: %s", evs[0].Details)
		}
		if *evs[0].ActorID != alice.UserID || *evs[0].TargetID != alice.UserID {
			t.Errorf("actor/target = %v/%v", *evs[0].ActorID, *evs[0].TargetID)
		}

		// Same values again: nothing to write, nothing to audit.
		if _, err := f.svc.UpdateMe(f.ctx, alice, user.Patch{Username: ptr("ALICE2")}); err != nil {
			t.Fatal(err)
		}
		if n := len(f.events(user.ActionUpdated)); n != 1 {
			t.Errorf("no-op update audited: %d events", n)
		}

		_, err = f.svc.UpdateMe(f.ctx, alice, user.Patch{Username: ptr("b\x00b")})
		if e := wantKind(t, err, apperr.Invalid); e.Fields[0].Field != "username" {
			t.Errorf("bad username: %+v", e.Fields)
		}
		_, err = f.svc.UpdateMe(f.ctx, alice, user.Patch{Username: ptr("Bob")})
		if !errors.Is(err, user.ErrUsernameTaken) {
			t.Errorf("taken username: %v", err)
		}
	})
}

// file stores a file row owned by ownerID under storage key key.
func (f *fixture) file(ownerID, key string) {
	f.t.Helper()
	if _, err := f.stores.Files.Create(f.ctx, file.File{
		ID: uuid.Must(uuid.NewV7()).String(), OwnerID: ownerID, Filename: "a.txt", ContentType: "text/plain",
		Size: 1, SHA256: "00", StorageKey: key, CreatedAt: time.Now().UTC(),
	}); err != nil {
		f.t.Fatal(err)
	}
}

func TestDeleteMe(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db)
		alice := f.user("alice", user.RoleUser)
		f.file(alice.UserID, "aa/bb/key-1")

		wantKind(t, f.svc.DeleteMe(f.ctx, alice, "Wrong-Horse-9"), apperr.Forbidden)
		if len(f.files.removed) != 0 {
			t.Fatal("files removed on a wrong password")
		}
		if err := f.svc.DeleteMe(f.ctx, alice, pw); err != nil {
			t.Fatal(err)
		}
		if _, err := f.stores.Users.ByID(f.ctx, alice.UserID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("account still there: %v", err)
		}
		if _, err := f.stores.Sessions.Session(f.ctx, alice.SessionID); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("session still there: %v", err)
		}
		if !slices.Equal(f.files.removed, []string{"aa/bb/key-1"}) {
			t.Errorf("removed files %v", f.files.removed)
		}
		if evs := f.events(user.ActionDeleted); len(evs) != 1 || *evs[0].TargetID != alice.UserID {
			t.Errorf("events = %+v", evs)
		}
	})
}

// The account, its rows and its audit event go in one transaction; content
// that cannot be removed afterwards has no row and is left to the sweep.
func TestDeleteMeFileFailureStillDeletesAccount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db)
		alice := f.user("alice", user.RoleUser)
		f.file(alice.UserID, "aa/bb/key-1")
		f.files.err = errors.New("disk on fire")
		if err := f.svc.DeleteMe(f.ctx, alice, pw); err != nil {
			t.Fatal(err)
		}
		if _, err := f.stores.Users.ByID(f.ctx, alice.UserID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("account still there: %v", err)
		}
		if ok, _ := f.stores.Files.StorageKeyExists(f.ctx, "aa/bb/key-1"); ok {
			t.Error("the file row outlived its account")
		}
	})
}

func TestLastAdminStays(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db)
		root := f.user("root", user.RoleAdmin)
		wantKind(t, f.svc.DeleteMe(f.ctx, root, pw), apperr.Conflict)

		second := f.user("second", user.RoleAdmin)
		if err := f.svc.DeleteMe(f.ctx, second, pw); err != nil {
			t.Fatalf("an admin who is not the last one: %v", err)
		}
		if _, err := f.stores.Users.ByID(f.ctx, root.UserID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAdminOnly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db)
		alice := f.user("alice", user.RoleUser)
		bob := f.user("bob", user.RoleUser)
		calls := map[string]error{}
		_, _, calls["List"] = f.svc.List(f.ctx, alice, user.ListFilter{})
		_, calls["Get"] = f.svc.Get(f.ctx, alice, bob.UserID)
		_, calls["Update"] = f.svc.Update(f.ctx, alice, bob.UserID, user.AdminPatch{IsActive: ptr(false)})
		calls["Delete"] = f.svc.Delete(f.ctx, alice, bob.UserID)
		for name, err := range calls {
			if !errors.Is(err, user.ErrAdminRequired) {
				t.Errorf("%s: %v", name, err)
			}
		}
		if f.revoked(bob.SessionID) {
			t.Error("a refused call had an effect")
		}
	})
}

func TestAdminGetUnknown(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db)
		root := f.user("root", user.RoleAdmin)
		unknown := uuid.Must(uuid.NewV7()).String()
		if _, err := f.svc.Get(f.ctx, root, unknown); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("Get: %v", err)
		}
		if _, err := f.svc.Update(f.ctx, root, unknown, user.AdminPatch{DisplayName: ptr("x")}); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("Update: %v", err)
		}
		if err := f.svc.Delete(f.ctx, root, unknown); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("Delete: %v", err)
		}
		if len(f.files.removed) != 0 {
			t.Error("files removed for an unknown account")
		}
	})
}

func TestAdminList(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db)
		root := f.user("root", user.RoleAdmin)
		var ids []string
		for _, n := range []string{"ann", "ben", "cat", "dan", "eve"} {
			ids = append(ids, f.user(n, user.RoleUser).UserID)
		}
		slices.Reverse(ids) // newest first

		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			us, next, err := f.svc.List(f.ctx, root, user.ListFilter{Role: user.RoleUser, Before: cursor, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range us {
				got = append(got, u.ID)
			}
			if next == "" {
				if pages != 2 {
					t.Errorf("%d pages, want 3", pages+1)
				}
				break
			}
			cursor = next
		}
		if !slices.Equal(got, ids) {
			t.Errorf("pages = %v, want %v", got, ids)
		}

		us, _, err := f.svc.List(f.ctx, root, user.ListFilter{Q: `  B\EN  `})
		if err != nil || len(us) != 1 || us[0].Username != "ben" {
			t.Errorf("q: %+v, %v", us, err)
		}
		us, _, err = f.svc.List(f.ctx, root, user.ListFilter{Role: user.RoleAdmin})
		if err != nil || len(us) != 1 || us[0].ID != root.UserID {
			t.Errorf("role: %+v, %v", us, err)
		}

		for _, c := range []string{"nope", "' OR 1=1 --", strings.ToUpper(ids[0]), "{" + ids[0] + "}"} {
			_, _, err := f.svc.List(f.ctx, root, user.ListFilter{Before: c})
			e := wantKind(t, err, apperr.Invalid)
			if e.Fields[0] != (apperr.FieldError{Location: "query", Field: "cursor", Message: "Invalid cursor."}) {
				t.Errorf("cursor %q: %+v", c, e.Fields)
			}
		}
	})
}

func TestAdminUpdate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db)
		root := f.user("root", user.RoleAdmin)
		alice := f.user("alice", user.RoleUser)
		second := f.session(alice.UserID)

		u, err := f.svc.Update(f.ctx, root, alice.UserID, user.AdminPatch{IsActive: ptr(false)})
		if err != nil || u.IsActive {
			t.Fatalf("deactivate: %+v, %v", u, err)
		}
		if !f.revoked(alice.SessionID) || !f.revoked(second) {
			t.Error("sessions survived deactivation")
		}
		if f.revoked(root.SessionID) {
			t.Error("the admin's own session was revoked")
		}
		st, err := f.stores.Sessions.State(f.ctx, alice.SessionID)
		if err != nil || st.IsActive || st.RevokedAt == nil {
			t.Errorf("state = %+v, %v", st, err)
		}
		evs := f.events(user.ActionDeactivated)
		if len(evs) != 1 || *evs[0].ActorID != root.UserID || details(t, evs[0])["revoked_sessions"] != float64(2) {
			t.Errorf("deactivated events = %+v", evs)
		}

		if _, err := f.svc.Update(f.ctx, root, alice.UserID, user.AdminPatch{Role: ptr(user.RoleAdmin), IsActive: ptr(true), DisplayName: ptr("Alice")}); err != nil {
			t.Fatal(err)
		}
		evs = f.events(user.ActionRoleChanged)
		if len(evs) != 1 {
			t.Fatalf("role events = %+v", evs)
		}
		if d := details(t, evs[0]); d["from"] != "user" || d["to"] != "admin" {
			t.Errorf("role details = %v", d)
		}
		evs = f.events(user.ActionUpdated)
		if len(evs) != 1 || fmt.Sprint(details(t, evs[0])["fields"]) != "[display_name is_active]" {
			t.Errorf("updated events = %+v", evs)
		}

		for _, patch := range []user.AdminPatch{{Role: ptr(user.RoleUser)}, {IsActive: ptr(false)}} {
			_, err := f.svc.Update(f.ctx, root, root.UserID, patch)
			if !errors.Is(err, user.ErrSelfChange) {
				t.Errorf("self change %+v: %v", patch, err)
			}
		}
		if _, err := f.svc.Update(f.ctx, root, root.UserID, user.AdminPatch{DisplayName: ptr("Root"), Role: ptr(user.RoleAdmin)}); err != nil {
			t.Errorf("own display name with unchanged role: %v", err)
		}
		if f.revoked(root.SessionID) {
			t.Error("own session revoked")
		}
	})
}

func TestAdminDelete(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db)
		root := f.user("root", user.RoleAdmin)
		alice := f.user("alice", user.RoleUser)
		f.file(alice.UserID, "cc/dd/key-2")

		if err := f.svc.Delete(f.ctx, root, root.UserID); !errors.Is(err, user.ErrSelfDelete) {
			t.Errorf("self delete: %v", err)
		}
		if err := f.svc.Delete(f.ctx, root, alice.UserID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.stores.Users.ByID(f.ctx, alice.UserID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("still there: %v", err)
		}
		if !slices.Equal(f.files.removed, []string{"cc/dd/key-2"}) {
			t.Errorf("removed = %v", f.files.removed)
		}
		evs := f.events(user.ActionDeleted)
		if len(evs) != 1 || *evs[0].ActorID != root.UserID || *evs[0].TargetID != alice.UserID {
			t.Errorf("events = %+v", evs)
		}
	})
}
