// Package testdb gives tests a freshly migrated database on each engine:
// a temporary SQLite file always, and PostgreSQL (a new schema per call)
// when TEST_DATABASE_URL is set; and Redis when TEST_REDIS_URL is set.
// Under CI=true a missing URL fails the test instead of skipping it.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"secureapi/internal/store"
)

// Engines lists the engines a contract test runs on.
func Engines() []string { return []string{"sqlite", "postgres"} }

// Open returns a migrated database of engine for the test, closed at cleanup.
// For "postgres" without TEST_DATABASE_URL it skips (or fails under CI=true).
func Open(t testing.TB, engine string) store.DB {
	t.Helper()
	ctx := context.Background()
	var (
		db  store.DB
		err error
	)
	switch engine {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "test.db")
		CopySQLiteTemplate(t, path)
		db, err = store.Open(ctx, "sqlite", path)
	case "postgres":
		db, err = store.Open(ctx, "postgres", PostgresURL(t))
	default:
		t.Fatalf("unknown engine %q", engine)
	}
	if err != nil {
		t.Fatalf("open %s: %v", engine, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := store.MigrateUp(ctx, db); err != nil {
		t.Fatalf("migrate %s: %v", engine, err)
	}
	return db
}

// Each runs fn as a subtest once per engine.
func Each(t *testing.T, fn func(t *testing.T, db store.DB)) {
	for _, e := range Engines() {
		t.Run(e, func(t *testing.T) { fn(t, Open(t, e)) })
	}
}

// PostgresURL creates an empty schema in TEST_DATABASE_URL's database, drops
// it at cleanup, and returns a URL whose search_path points at it, so test
// runs and parallel tests never see each other's data.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_DATABASE_URL is not set; CI must run the PostgreSQL tests")
		}
		t.Skip("PostgreSQL tests skipped: set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run them")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// RedisURL returns TEST_REDIS_URL, skipping the test without it (failing it
// under CI=true, where the Redis suites must run).
func RedisURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_REDIS_URL is not set; CI must run the Redis tests")
		}
		t.Skip("Redis tests skipped: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run them")
	}
	return url
}

var (
	templateOnce sync.Once
	templateDB   []byte
	templateErr  error
)

// CopySQLiteTemplate writes a migrated, empty SQLite database to path. The
// migrations run once per test binary, into a file that is read back into
// memory and removed; every caller gets a copy, so tests stay isolated
// without paying for the migrations each time.
func CopySQLiteTemplate(t testing.TB, path string) {
	t.Helper()
	templateOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sqlite-template-")
		if err != nil {
			templateErr = err
			return
		}
		defer os.RemoveAll(dir)
		ctx := context.Background()
		file := filepath.Join(dir, "template.db")
		db, err := store.Open(ctx, "sqlite", file)
		if err != nil {
			templateErr = err
			return
		}
		templateErr = store.MigrateUp(ctx, db)
		// Closing the last connection checkpoints the WAL into the file.
		if cerr := db.Close(); templateErr == nil {
			templateErr = cerr
		}
		if templateErr == nil {
			templateDB, templateErr = os.ReadFile(file)
		}
	})
	if templateErr != nil {
		t.Fatalf("sqlite template: %v", templateErr)
	}
	if err := os.WriteFile(path, templateDB, 0o600); err != nil {
		t.Fatalf("copy sqlite template: %v", err)
	}
}
