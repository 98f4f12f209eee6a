package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"secureapi/internal/auth"
	"secureapi/internal/store"
	"secureapi/internal/store/postgres"
	"secureapi/internal/testutil/testdb"
	"secureapi/internal/user"
)

// feedReader follows the change feed as the session view does: it keeps
// the cursor and skips rows it has seen.
type feedReader struct {
	t      *testing.T
	feed   auth.Feed
	cursor int64
	seen   map[int64]bool
}

func newFeedReader(t *testing.T, f auth.Feed) *feedReader {
	r := &feedReader{t: t, feed: f, seen: map[int64]bool{}}
	r.read()
	return r
}

// read returns the sessions and accounts of the rows not seen before.
func (r *feedReader) read() (sessions, users []string) {
	r.t.Helper()
	changes, next, err := r.feed.Changes(context.Background(), r.cursor)
	if err != nil {
		r.t.Fatalf("read the feed: %v", err)
	}
	r.cursor = max(r.cursor, next)
	for _, c := range changes {
		if r.seen[c.Seq] {
			continue
		}
		r.seen[c.Seq] = true
		if c.SessionID != "" {
			sessions = append(sessions, c.SessionID)
		}
		if c.UserID != "" {
			users = append(users, c.UserID)
		}
	}
	return sessions, users
}

func newSession(t *testing.T, st store.Stores, userID string) string {
	t.Helper()
	now := time.Now().UTC()
	s, err := st.Sessions.CreateSession(context.Background(), auth.Session{
		ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}

// The triggers record what can end a session or change an account, and
// nothing else: a revocation, a real change to an account, a deletion; not
// a new session, a touch or LockUser's write that changes nothing.
func TestChangeFeedRecordsWhatEndsSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		st := store.New(db)
		now := time.Now().UTC()
		u, err := st.Users.Create(ctx, user.User{
			ID: uuid.Must(uuid.NewV7()).String(), Email: "feed@example.com", Username: "feed",
			PasswordHash: "x", Role: user.RoleUser, IsActive: true, CreatedAt: now, UpdatedAt: now,
		})
		if err != nil {
			t.Fatal(err)
		}
		r := newFeedReader(t, db)
		s1, s2 := newSession(t, st, u.ID), newSession(t, st, u.ID)
		if err := st.Sessions.TouchSession(ctx, s1, "192.0.2.1", "ua", now); err != nil {
			t.Fatal(err)
		}
		if err := st.Files.LockOwner(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if s, us := r.read(); len(s)+len(us) != 0 {
			t.Fatalf("nothing ended, yet the feed has sessions %v and accounts %v", s, us)
		}

		if ok, err := st.Sessions.RevokeSession(ctx, u.ID, s1, auth.ReasonLogout, now); err != nil || !ok {
			t.Fatalf("revoke: %v %v", ok, err)
		}
		if s, _ := r.read(); !slices.Equal(s, []string{s1}) {
			t.Fatalf("after a revocation the feed has %v, want [%s]", s, s1)
		}

		u.IsActive, u.UpdatedAt = false, now.Add(time.Second)
		if _, err := st.Users.Update(ctx, u); err != nil {
			t.Fatal(err)
		}
		if _, us := r.read(); !slices.Equal(us, []string{u.ID}) {
			t.Fatalf("after a deactivation the feed has accounts %v", us)
		}

		if err := st.Users.Delete(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		s, us := r.read()
		if !slices.Contains(s, s2) || !slices.Contains(us, u.ID) {
			t.Fatalf("after a deletion the feed has sessions %v and accounts %v", s, us)
		}

		// Pruning keeps recent rows and drops old ones.
		if err := db.Prune(ctx, time.Hour); err != nil {
			t.Fatalf("prune: %v", err)
		}
		if changes, _, _ := db.Changes(ctx, 1); len(changes) == 0 {
			t.Fatal("pruning rows older than an hour dropped this minute's rows")
		}
		time.Sleep(1100 * time.Millisecond)
		if err := db.Prune(ctx, time.Second); err != nil {
			t.Fatalf("prune: %v", err)
		}
		if changes, _, _ := db.Changes(ctx, 1); len(changes) != 0 {
			t.Fatalf("pruning rows older than a second left %d", len(changes))
		}
	})
}

// PostgreSQL transactions commit in any order: a row written by a
// transaction that started first but commits last is still read, because
// the cursor never passes a transaction that has not finished.
func TestChangeFeedKeepsOutOfOrderCommits(t *testing.T) {
	db := testdb.Open(t, "postgres")
	pg := db.(*postgres.DB)
	ctx := context.Background()
	st := store.New(db)
	now := time.Now().UTC()
	u, err := st.Users.Create(ctx, user.User{
		ID: uuid.Must(uuid.NewV7()).String(), Email: "order@example.com", Username: "order",
		PasswordHash: "x", Role: user.RoleUser, IsActive: true, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	early, late := newSession(t, st, u.ID), newSession(t, st, u.ID)
	r := newFeedReader(t, db)

	first, err := pg.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(ctx)
	if _, err := first.Exec(ctx, `UPDATE sessions SET revoked_at = now() WHERE id = $1`, early); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Pool.Exec(ctx, `UPDATE sessions SET revoked_at = now() WHERE id = $1`, late); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.read(); !slices.Equal(s, []string{late}) {
		t.Fatalf("with the first transaction open the feed has %v, want [%s]", s, late)
	}
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.read(); !slices.Equal(s, []string{early}) {
		t.Fatalf("after the first transaction committed last the feed has %v, want [%s]", s, early)
	}
	if s, _ := r.read(); len(s) != 0 {
		t.Fatalf("rows read twice: %v", s)
	}
}
