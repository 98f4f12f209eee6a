// Package migrate applies the embedded goose migrations.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"secureapi/migrations"
)

// Provider returns a goose provider for engine ("sqlite" or "postgres").
// On PostgreSQL a session advisory lock lets several instances start at once.
func Provider(db *sql.DB, engine string) (*goose.Provider, error) {
	var (
		dialect goose.Dialect
		opts    []goose.ProviderOption
	)
	switch engine {
	case "sqlite":
		dialect = goose.DialectSQLite3
	case "postgres":
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		return nil, fmt.Errorf("unknown database engine %q", engine)
	}
	sub, err := fs.Sub(migrations.FS, engine)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, db, sub, opts...)
}

// AtHead reports whether every embedded migration of engine is applied, with
// one read of goose's version table instead of a provider, which collects
// and parses every migration file and, on PostgreSQL, queries the catalog
// first. It is what start-up and the readiness probe ask on every call, and
// the answer is nearly always yes. A database that was never migrated has no
// version table and is not at head; a migration missing below the newest
// applied one is not at head either, and goose's Up then says what is wrong.
func AtHead(ctx context.Context, db *sql.DB, engine string) (bool, error) {
	want, err := versions(engine)
	if err != nil {
		return false, err
	}
	// goose's provider counts a version as applied when its table has a row
	// for it, and deletes the row when it rolls the version back.
	rows, err := db.QueryContext(ctx, "SELECT version_id FROM "+goose.DefaultTablename)
	if err != nil {
		if exists, xerr := versionTableExists(ctx, db, engine); xerr == nil && !exists {
			return false, nil
		}
		return false, fmt.Errorf("read migration versions: %w", err)
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return false, fmt.Errorf("read migration versions: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read migration versions: %w", err)
	}
	for _, v := range want {
		if !applied[v] {
			return false, nil
		}
	}
	return true, nil
}

// versions lists the version numbers of engine's embedded migrations, read
// from their file names the way goose reads them.
func versions(engine string) ([]int64, error) {
	entries, err := fs.ReadDir(migrations.FS, engine)
	if err != nil {
		return nil, fmt.Errorf("unknown database engine %q", engine)
	}
	var out []int64
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		v, err := goose.NumericComponent(e.Name())
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		out = append(out, v)
	}
	return out, nil
}

func versionTableExists(ctx context.Context, db *sql.DB, engine string) (bool, error) {
	q := "SELECT to_regclass('" + goose.DefaultTablename + "') IS NOT NULL"
	if engine == "sqlite" {
		q = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '" + goose.DefaultTablename + "')"
	}
	var exists bool
	err := db.QueryRowContext(ctx, q).Scan(&exists)
	return exists, err
}
