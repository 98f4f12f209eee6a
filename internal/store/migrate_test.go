package store_test

import (
	"context"
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
