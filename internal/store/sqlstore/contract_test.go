package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
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
	"secureapi/internal/mail"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/store"
	"secureapi/internal/store/sqlstore"
	"secureapi/internal/testutil/testdb"
	"secureapi/internal/user"
)

func newID(t *testing.T) string {
	t.Helper()
	return uuid.Must(uuid.NewV7()).String()
}

func mkUser(t *testing.T, s user.Store, email, username string) user.User {
	t.Helper()
	now := time.Now()
	u, err := s.Create(context.Background(), user.User{
		ID: newID(t), Email: email, Username: username, PasswordHash: "x", Role: user.RoleUser,
		IsActive: true, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u
}

func TestUserStoreContract(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		s := store.New(db).Users
		alice := mkUser(t, s, "alice@example.com", "alice")

		got, err := s.ByEmail(ctx, "alice@example.com")
		if err != nil || got.ID != alice.ID || !got.CreatedAt.Equal(alice.CreatedAt) || got.CreatedAt.Location() != time.UTC {
			t.Fatalf("ByEmail = %+v, %v; want %+v", got, err, alice)
		}
		if _, err := s.ByID(ctx, newID(t)); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("ByID(unknown) err = %v, want ErrNotFound", err)
		}
		if _, err := s.ByID(ctx, "not-a-uuid"); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("ByID(malformed) err = %v, want ErrNotFound", err)
		}
		now := time.Now()
		_, err = s.Create(ctx, user.User{ID: newID(t), Email: "alice@example.com", Username: "other", PasswordHash: "x", Role: user.RoleUser, CreatedAt: now, UpdatedAt: now})
		if !errors.Is(err, user.ErrEmailTaken) {
			t.Fatalf("duplicate email err = %v, want ErrEmailTaken", err)
		}
		_, err = s.Create(ctx, user.User{ID: newID(t), Email: "x@example.com", Username: "alice", PasswordHash: "x", Role: user.RoleUser, CreatedAt: now, UpdatedAt: now})
		if !errors.Is(err, user.ErrUsernameTaken) {
			t.Fatalf("duplicate username err = %v, want ErrUsernameTaken", err)
		}

		bob := mkUser(t, s, "bob@example.com", "bob")
		bob.Role, bob.IsActive = user.RoleAdmin, false
		if _, err := s.Update(ctx, bob); err != nil {
			t.Fatal(err)
		}
		inactive := false
		page, err := s.List(ctx, user.ListFilter{Active: &inactive, Limit: 10})
		if err != nil || len(page) != 1 || page[0].ID != bob.ID {
			t.Fatalf("List(inactive) = %v, %v", page, err)
		}
		page, err = s.List(ctx, user.ListFilter{Q: "ali", Limit: 10})
		if err != nil || len(page) != 1 || page[0].ID != alice.ID {
			t.Fatalf("List(q=ali) = %v, %v", page, err)
		}
		page, err = s.List(ctx, user.ListFilter{Limit: 1})
		if err != nil || len(page) != 1 || page[0].ID != bob.ID {
			t.Fatalf("List(limit 1) = %v, %v", page, err)
		}
		page, err = s.List(ctx, user.ListFilter{Limit: 10, Before: page[0].ID})
		if err != nil || len(page) != 1 || page[0].ID != alice.ID {
			t.Fatalf("List(page 2) = %v, %v", page, err)
		}

		if err := s.Delete(ctx, alice.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, alice.ID); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("second delete err = %v", err)
		}
	})
}

func TestSessionStoreContract(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		st := store.New(db)
		u := mkUser(t, st.Users, "s@example.com", "sess")
		now := time.Now().UTC()
		sess, err := st.Sessions.CreateSession(ctx, auth.Session{ID: newID(t), UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Sessions.InsertRefreshToken(ctx, auth.RefreshToken{Hash: "h1", SessionID: sess.ID, IssuedAt: now}); err != nil {
			t.Fatal(err)
		}
		// Exactly one of many concurrent rotations of the same token wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := st.Sessions.MarkReplaced(ctx, "h1", time.Now())
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("concurrent MarkReplaced winners = %d, want 1", wins)
		}
		state, err := st.Sessions.State(ctx, sess.ID)
		if err != nil || state.UserID != u.ID || state.RevokedAt != nil || !state.IsActive {
			t.Fatalf("State = %+v, %v", state, err)
		}
		ok, err := st.Sessions.RevokeSession(ctx, u.ID, sess.ID, "logout", now)
		if err != nil || !ok {
			t.Fatalf("RevokeSession = %v, %v", ok, err)
		}
		state, _ = st.Sessions.State(ctx, sess.ID)
		if state.RevokedAt == nil {
			t.Fatal("revoked session has no revoked_at")
		}
		if _, err := st.Sessions.State(ctx, newID(t)); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("State(unknown) err = %v", err)
		}
		// Deleting the user cascades to sessions.
		if err := st.Users.Delete(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Sessions.Session(ctx, sess.ID); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("session survived user deletion: %v", err)
		}
	})
}

func TestAuditStoreChainNeverForks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		svc := audit.NewService(store.New(db).Audit, discard(), nil)
		var wg sync.WaitGroup
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := svc.Record(ctx, audit.Entry{Action: "test.event", Details: map[string]any{"n": 1, "password": "never"}}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		n, broken, err := svc.Verify(ctx)
		if err != nil || broken != nil || n != 30 {
			t.Fatalf("Verify = %d, %+v, %v; want 30 intact", n, broken, err)
		}
		evs, _, err := svc.List(ctx, audit.Filter{Limit: 100})
		if err != nil || len(evs) != 30 {
			t.Fatalf("List = %d, %v", len(evs), err)
		}
		if evs[0].Details != `{"n":1}` {
			t.Fatalf("details = %s; secret-looking keys must be dropped", evs[0].Details)
		}
	})
}

func TestFileStoreContract(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		st := store.New(db)
		u := mkUser(t, st.Users, "f@example.com", "files")
		for i := 0; i < 3; i++ {
			if _, err := st.Files.Create(ctx, file.File{ID: newID(t), OwnerID: u.ID, Filename: "a.txt", ContentType: "text/plain", Size: 10, SHA256: "x", StorageKey: newID(t), CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := st.Files.Usage(ctx, u.ID)
		if err != nil || n != 30 {
			t.Fatalf("Usage = %d, %v", n, err)
		}
		_, err = st.Files.Create(ctx, file.File{ID: newID(t), OwnerID: newID(t), Filename: "a", ContentType: "text/plain", StorageKey: newID(t), CreatedAt: time.Now()})
		if err == nil {
			t.Fatal("file with unknown owner was stored")
		}
	})
}

// The quota reads an account's usage from a counter the database keeps on
// every change to files; it must always equal the sum of the account's files,
// whatever changed them, and survive a migration round trip (the migration
// fills it from the files already stored).
func TestFileUsageFollowsFiles(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		st := store.New(db)
		unit := store.Unit(db, func(tx *sqlstore.Tx) file.Stores { return tx })
		a := mkUser(t, st.Users, "usage-a@example.com", "usagea")
		b := mkUser(t, st.Users, "usage-b@example.com", "usageb")
		idle := mkUser(t, st.Users, "usage-c@example.com", "usagec")
		put := func(owner string, size int64) file.File {
			t.Helper()
			f, err := st.Files.Create(ctx, file.File{ID: newID(t), OwnerID: owner, Filename: "f", ContentType: "text/plain",
				Size: size, SHA256: "x", StorageKey: newID(t), CreatedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		var middle file.File
		steps := []struct {
			name string
			do   func()
		}{
			{"files stored", func() {
				put(a.ID, 10)
				middle = put(a.ID, 20)
				put(a.ID, 30)
				put(b.ID, 5)
			}},
			{"a file stored and deleted", func() {
				if err := st.Files.Delete(ctx, put(a.ID, 1000).ID); err != nil {
					t.Fatal(err)
				}
			}},
			{"a failed upload rolled back", func() {
				err := unit.InTx(ctx, func(tx file.Stores) error {
					if _, err := tx.Files().Create(ctx, file.File{ID: newID(t), OwnerID: a.ID, Filename: "f", ContentType: "text/plain",
						Size: 100, SHA256: "x", StorageKey: newID(t), CreatedAt: time.Now()}); err != nil {
						return err
					}
					return errors.New("disk full")
				})
				if err == nil {
					t.Fatal("the unit of work did not fail")
				}
			}},
			// The application writes one file per statement; the counter must
			// also follow statements that touch many rows and several owners.
			{"one statement stores files of two owners", func() {
				exec(t, db, "INSERT INTO files (id, owner_id, filename, content_type, size, sha256, storage_key, created_at) VALUES "+
					"(@, @, 'f', 'text/plain', 7, 'x', @, @), (@, @, 'f', 'text/plain', 7, 'x', @, @), (@, @, 'f', 'text/plain', 7, 'x', @, @)",
					newID(t), a.ID, newID(t), time.Now().UTC(), newID(t), a.ID, newID(t), time.Now().UTC(), newID(t), b.ID, newID(t), time.Now().UTC())
			}},
			{"one statement moves a file to another owner", func() {
				exec(t, db, "UPDATE files SET owner_id = @, size = 9 WHERE id = @", b.ID, middle.ID)
			}},
			{"one statement deletes files of two owners", func() {
				exec(t, db, "DELETE FROM files WHERE size IN (7, 9)")
			}},
			{"an account deleted with its files", func() {
				if err := st.Users.Delete(ctx, b.ID); err != nil {
					t.Fatal(err)
				}
			}},
			{"migrated down past the counter and up again", func() {
				p, err := store.Migrations(db)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.DownTo(ctx, 23); err != nil {
					t.Fatal(err)
				}
				if _, err := p.Up(ctx); err != nil {
					t.Fatal(err)
				}
			}},
		}
		for _, step := range steps {
			step.do()
			for _, owner := range []string{a.ID, b.ID, idle.ID} {
				var sum int64
				if err := db.SQL().QueryRowContext(ctx, bind(db, "SELECT COALESCE(SUM(size), 0) FROM files WHERE owner_id = @"), owner).Scan(&sum); err != nil {
					t.Fatal(err)
				}
				got, err := st.Files.Usage(ctx, owner)
				if err != nil || got != sum {
					t.Fatalf("%s: usage of %s = %d, %v; its files hold %d bytes", step.name, owner, got, err, sum)
				}
			}
		}
		if got, _ := st.Files.Usage(ctx, a.ID); got != 40 {
			t.Fatalf("usage = %d after every step, want 40", got)
		}
	})
}

// bind numbers the @ placeholders of q the way the engine expects.
func bind(db store.DB, q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c != '@' {
			b.WriteRune(c)
			continue
		}
		n++
		if db.Name() == "postgres" {
			fmt.Fprintf(&b, "$%d", n)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

func exec(t *testing.T, db store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.SQL().ExecContext(context.Background(), bind(db, q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// A page holds one owner's files, newest first, however the owners' files
// interleave, and the cursor continues exactly where the page ended.
func TestFileStoreListsOneOwnersPages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		st := store.New(db)
		owners := []user.User{mkUser(t, st.Users, "a@example.com", "a"), mkUser(t, st.Users, "b@example.com", "b")}
		want := map[string][]string{}
		for i := range 7 {
			o := owners[i%2]
			f, err := st.Files.Create(ctx, file.File{ID: newID(t), OwnerID: o.ID, Filename: "f.txt", ContentType: "text/plain", Size: 1, SHA256: "x", StorageKey: newID(t), CreatedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			want[o.ID] = append([]string{f.ID}, want[o.ID]...)
		}
		for _, o := range owners {
			var got []string
			before := ""
			for range 10 {
				page, err := st.Files.ListByOwner(ctx, o.ID, before, 2)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				for _, f := range page {
					if f.OwnerID != o.ID {
						t.Fatalf("%s's page holds %s's file", o.Username, f.OwnerID)
					}
					got = append(got, f.ID)
				}
				before = page[len(page)-1].ID
			}
			if !slices.Equal(got, want[o.ID]) {
				t.Errorf("%s's pages = %v, want %v", o.Username, got, want[o.ID])
			}
		}
	})
}

// Concurrent writers and readers never see "database is locked" (SQLite's
// single writer connection queues them) and every write lands.
func TestConcurrentWritesNeverFail(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		s := store.New(db).Users
		const writers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, writers*each*2)
		for w := 0; w < writers; w++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					now := time.Now()
					id := uuid.Must(uuid.NewV7()).String()
					_, err := s.Create(ctx, user.User{ID: id, Email: id + "@example.com", Username: id, PasswordHash: "x",
						Role: user.RoleUser, IsActive: true, CreatedAt: now, UpdatedAt: now})
					errs <- err
				}
			}()
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					_, err := s.List(ctx, user.ListFilter{Limit: 10})
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent access failed: %v", err)
			}
		}
		all, err := s.List(ctx, user.ListFilter{Limit: 1000})
		if err != nil || len(all) != writers*each {
			t.Fatalf("stored %d users, want %d (%v)", len(all), writers*each, err)
		}
	})
}

// Under LockOwner, concurrent units of work that check the usage and then
// insert admit exactly as many files as fit: the file service's quota rule
// relies on it.
func TestLockOwnerSerializesQuotaChecks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		st := store.New(db)
		unit := store.Unit(db, func(tx *sqlstore.Tx) file.Stores { return tx })
		u := mkUser(t, st.Users, "q@example.com", "quota")
		errOver := errors.New("over quota")
		var wg sync.WaitGroup
		var mu sync.Mutex
		created, over := 0, 0
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := unit.InTx(ctx, func(tx file.Stores) error {
					if err := tx.Files().LockOwner(ctx, u.ID); err != nil {
						return err
					}
					used, err := tx.Files().Usage(ctx, u.ID)
					if err != nil {
						return err
					}
					if used+10 > 50 {
						return errOver
					}
					_, err = tx.Files().Create(ctx, file.File{ID: newID(t), OwnerID: u.ID, Filename: "f", ContentType: "text/plain",
						Size: 10, SHA256: "x", StorageKey: newID(t), CreatedAt: time.Now()})
					return err
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created++
				case errors.Is(err, errOver):
					over++
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if created != 5 || over != 15 {
			t.Fatalf("%d created, %d over quota; want 5 and 15", created, over)
		}
	})
}

// A unit of work that fails leaves nothing behind in any store.
func TestUnitOfWorkRollsBackEveryStore(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		st := store.New(db)
		owner := mkUser(t, st.Users, "owner@example.com", "owner")
		log := audit.NewService(st.Audit, slog.New(slog.DiscardHandler), nil)
		boom := errors.New("boom")
		now := time.Now().UTC()
		var carol user.User
		err := store.Unit(db, func(tx *sqlstore.Tx) *sqlstore.Tx { return tx }).InTx(ctx, func(tx *sqlstore.Tx) error {
			carol = mkUser(t, tx.Users(), "carol@example.com", "carol")
			if _, err := tx.Credentials().CreateSession(ctx, auth.Session{ID: newID(t), UserID: owner.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
			if err := tx.Credentials().CreateMailToken(ctx, auth.MailToken{Hash: "h", UserID: owner.ID, Purpose: auth.PurposeEmailVerify, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
			if _, err := tx.Files().Create(ctx, file.File{ID: newID(t), OwnerID: owner.ID, Filename: "f", ContentType: "text/plain", Size: 1, SHA256: "x", StorageKey: "k", CreatedAt: now}); err != nil {
				return err
			}
			if err := tx.Outbox().Insert(ctx, mail.Queued{ID: newID(t), RecipientKey: "r", Message: mail.Message{To: "a@example.com", Subject: "s"}, CreatedAt: now, NextAttemptAt: now}); err != nil {
				return err
			}
			if err := log.RecordIn(ctx, tx.Audit(), audit.Entry{Action: "test.rolled_back"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx err = %v", err)
		}
		if _, err := st.Users.ByID(ctx, carol.ID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("rolled-back user visible: %v", err)
		}
		if ss, _ := st.Sessions.ActiveSessions(ctx, owner.ID, now); len(ss) != 0 {
			t.Errorf("rolled-back session visible: %v", ss)
		}
		if _, err := st.Sessions.ConsumeMailToken(ctx, auth.PurposeEmailVerify, "h", now); err == nil {
			t.Error("rolled-back mail token visible")
		}
		if ok, _ := st.Files.StorageKeyExists(ctx, "k"); ok {
			t.Error("rolled-back file visible")
		}
		if n, _ := st.Outbox.Pending(ctx); n != 0 {
			t.Errorf("%d rolled-back outbox rows visible", n)
		}
		if seq, _, _ := st.Audit.Head(ctx); seq != 0 {
			t.Errorf("audit chain advanced to %d by a rolled-back event", seq)
		}
	})
}

// Text PostgreSQL cannot store (NUL, invalid UTF-8) is a client error from
// the store, never an internal one; the API refuses it before it gets here.
func TestUnstorableTextIsAClientError(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		s := store.New(db).Users
		for _, name := range []string{"a\x00b", "a\xffb"} {
			now := time.Now()
			_, err := s.Create(context.Background(), user.User{
				ID: newID(t), Email: newID(t) + "@example.com", Username: newID(t)[:30], DisplayName: &name,
				PasswordHash: "x", Role: user.RoleUser, IsActive: true, CreatedAt: now, UpdatedAt: now,
			})
			if db.Name() == "sqlite" {
				continue // SQLite stores any bytes
			}
			if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.Invalid {
				t.Errorf("display name %q: err = %v, want an apperr.Invalid", name, err)
			}
		}
	})
}
