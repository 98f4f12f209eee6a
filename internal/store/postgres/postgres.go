// Package postgres opens PostgreSQL through a pgx/v5 pool and provides it to the stores.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"secureapi/gen/pgdb"
	"secureapi/internal/store/sqlstore"
)

// DB is a pgx pool.
type DB struct {
	Pool *pgxpool.Pool
	q    adapter
	sql  *sql.DB
}

var _ sqlstore.Engine = (*DB)(nil)

// Open connects with url (sslmode and every other libpq parameter honoured by pgx).
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message can echo the URL, password included.
		return nil, errors.New("DATABASE_URL is not a valid PostgreSQL connection URL")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return &DB{Pool: pool, q: adapter{pgdb.New(dbtx{pool})}}, nil
}

func (d *DB) Name() string                   { return "postgres" }
func (d *DB) Reader() sqlstore.Querier       { return d.q }
func (d *DB) Writer() sqlstore.Querier       { return d.q }
func (d *DB) Ping(ctx context.Context) error { return d.Pool.Ping(ctx) }

// SQL returns a database/sql handle over the pool, for migrations.
func (d *DB) SQL() *sql.DB {
	if d.sql == nil {
		d.sql = stdlib.OpenDBFromPool(d.Pool)
	}
	return d.sql
}

func (d *DB) Close() error {
	var err error
	if d.sql != nil {
		err = d.sql.Close()
	}
	d.Pool.Close()
	return err
}

func (d *DB) InTx(ctx context.Context, fn func(sqlstore.Querier) error) error {
	return markUnavailable(pgx.BeginFunc(ctx, d.Pool, func(tx pgx.Tx) error {
		return fn(adapter{pgdb.New(dbtx{tx})})
	}))
}

func (d *DB) MapError(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w", sqlstore.ErrNoRows)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			// Constraint names follow PostgreSQL's default: <table>_<column>_key / <table>_pkey.
			col := strings.TrimSuffix(strings.TrimPrefix(pe.ConstraintName, pe.TableName+"_"), "_key")
			return &sqlstore.UniqueViolation{Column: col}
		case "23503":
			return fmt.Errorf("%w", sqlstore.ErrForeignKey)
		case "22P02", "22007", "22008":
			return fmt.Errorf("%w", sqlstore.ErrInvalidInput)
		case "22021", "22P05": // NUL or invalid UTF-8 in text; \u0000 in JSON
			return fmt.Errorf("%w", sqlstore.ErrInvalidText)
		}
	}
	return err
}
