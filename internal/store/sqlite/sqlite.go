// Package sqlite opens the embedded SQLite database (modernc.org/sqlite, no cgo)
// and provides it to the stores.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"secureapi/gen/sqlitedb"
	"secureapi/internal/store/sqlstore"
)

// DB is one SQLite file opened twice: a single writer connection, so writers
// queue in Go instead of failing with "database is locked", and a pool of
// read-only connections that WAL lets run beside the writer.
type DB struct {
	W, R   *sql.DB
	wq, rq *sqlitedb.Queries
}

var _ sqlstore.Engine = (*DB)(nil)

// Open opens (creating if needed) the database file at path.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	if err := private(path); err != nil {
		return nil, err
	}
	pragmas := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		pragmas.Add("_pragma", p)
	}
	pragmas.Set("_time_format", "sqlite")
	// BEGIN IMMEDIATE takes the write lock at the start of a transaction, so
	// a transaction never fails half-way when it upgrades from read to write.
	pragmas.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + pragmas.Encode()

	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)

	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)

	if err := w.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite database: %w", err)
	}
	return &DB{W: w, R: r, wq: sqlitedb.New(w), rq: sqlitedb.New(r)}, nil
}

// private creates the database file readable by its owner only, before
// SQLite creates it with its default 0644: it holds every account. SQLite
// gives the -wal and -shm files it creates the database file's mode.
// Files left with a wider mode by an earlier version are narrowed.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("restrict database file permissions: %w", err)
		}
	}
	return nil
}

func (d *DB) Name() string                   { return "sqlite" }
func (d *DB) Reader() sqlstore.Querier       { return d.rq }
func (d *DB) Writer() sqlstore.Querier       { return d.wq }
func (d *DB) Ping(ctx context.Context) error { return d.R.PingContext(ctx) }

// SQL returns the writer connection for migrations.
func (d *DB) SQL() *sql.DB { return d.W }

func (d *DB) Close() error { return errors.Join(d.R.Close(), d.W.Close()) }

func (d *DB) InTx(ctx context.Context, fn func(sqlstore.Querier) error) error {
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(d.wq.WithTx(tx)); err != nil {
		return err
	}
	return tx.Commit()
}

func (d *DB) MapError(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w", sqlstore.ErrNoRows)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			// The message reads "UNIQUE constraint failed: users.email".
			msg := se.Error()
			col := msg[strings.LastIndex(msg, ".")+1:]
			if i := strings.IndexAny(col, " )"); i >= 0 {
				col = col[:i]
			}
			return &sqlstore.UniqueViolation{Column: col}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w", sqlstore.ErrForeignKey)
		}
	}
	return err
}
