package store_test

import (
	"context"
	"strconv"
	"testing"

	"secureapi/internal/store"
	"secureapi/internal/testutil/testdb"
)

// Every migration must apply, roll back to an empty schema and apply again,
// on both engines.
func TestMigrationsRoundTrip(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		p, err := store.Migrations(db)
		if err != nil {
			t.Fatal(err)
		}
		head, err := p.GetDBVersion(ctx)
		if err != nil || head == 0 {
			t.Fatalf("version after up = %d, %v", head, err)
		}
		if _, err := p.DownTo(ctx, 0); err != nil {
			t.Fatalf("down to 0: %v", err)
		}
		if v, _ := p.GetDBVersion(ctx); v != 0 {
			t.Fatalf("version after down = %d", v)
		}
		if pending, err := p.HasPending(ctx); err != nil || !pending {
			t.Fatalf("HasPending after down = %v, %v", pending, err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		if v, _ := p.GetDBVersion(ctx); v != head {
			t.Fatalf("version after second up = %d, want %d", v, head)
		}
		// The schema works after the round trip.
		if _, err := store.New(db).Users.CountActiveAdmins(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// AtHead is the one-query check start-up and /readyz use instead of goose's
// provider; it must agree with goose in every state a database can be in.
func TestAtHeadAgreesWithGoose(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		p, err := store.Migrations(db)
		if err != nil {
			t.Fatal(err)
		}
		sources := p.ListSources()
		below := sources[len(sources)-2].Version
		middle := sources[len(sources)/2].Version
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.SQL().ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		steps := []struct {
			name string
			do   func()
			want bool
		}{
			{"migrated", func() {}, true},
			{"newest rolled back", func() { _, err = p.DownTo(ctx, below) }, false},
			{"up again", func() { _, err = p.Up(ctx) }, true},
			{"a migration below head missing", func() {
				exec("DELETE FROM goose_db_version WHERE version_id = " + strconv.FormatInt(middle, 10))
			}, false},
			{"everything rolled back", func() {
				exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (" + strconv.FormatInt(middle, 10) + ", true)")
				_, err = p.DownTo(ctx, 0)
			}, false},
			{"never migrated", func() { exec("DROP TABLE goose_db_version") }, false},
			{"migrated from nothing", func() { err = store.MigrateUp(ctx, db) }, true},
		}
		for _, s := range steps {
			err = nil
			s.do()
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			got, err := store.AtHead(ctx, db)
			if err != nil || got != s.want {
				t.Fatalf("%s: AtHead = %v, %v; want %v", s.name, got, err, s.want)
			}
			// goose calls a missing migration an error rather than pending.
			pending, err := p.HasPending(ctx)
			if err == nil && pending == s.want {
				t.Fatalf("%s: goose says pending = %v, AtHead says at head = %v", s.name, pending, got)
			}
		}
	})
}
