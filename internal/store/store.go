// Package store opens the configured database engine and builds the domain
// stores over it.
package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"

	"secureapi/internal/auth"
	"secureapi/internal/store/migrate"
	"secureapi/internal/store/postgres"
	"secureapi/internal/store/sqlite"
	"secureapi/internal/store/sqlstore"
)

// DB is an open database of either engine.
type DB interface {
	sqlstore.Engine
	// Feed reads the session change feed (auth_changes).
	auth.Feed
	Ping(ctx context.Context) error
	// SQL is a database/sql handle for migrations.
	SQL() *sql.DB
	Close() error
}

// Open opens engine ("sqlite" with a file path, "postgres" with a URL).
func Open(ctx context.Context, engine, dsn string) (DB, error) {
	switch engine {
	case "sqlite":
		return sqlite.Open(ctx, dsn)
	case "postgres":
		return postgres.Open(ctx, dsn)
	}
	return nil, fmt.Errorf("unknown database engine %q", engine)
}

// Migrations returns the goose provider for db.
func Migrations(db DB) (*goose.Provider, error) { return migrate.Provider(db.SQL(), db.Name()) }

// AtHead reports whether every migration is applied, with one query.
func AtHead(ctx context.Context, db DB) (bool, error) {
	return migrate.AtHead(ctx, db.SQL(), db.Name())
}

// MigrateUp applies every pending migration. When none is pending, as at
// nearly every start, it costs one query.
func MigrateUp(ctx context.Context, db DB) error {
	if at, err := AtHead(ctx, db); err == nil && at {
		return nil
	}
	p, err := Migrations(db)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Stores are the domain stores over one database.
type Stores struct {
	Users    *sqlstore.Users
	Sessions *sqlstore.Sessions
	Audit    *sqlstore.Audit
	Files    *sqlstore.Files
	Outbox   *sqlstore.Outbox
	MFA      *sqlstore.MFA
	// AccessTokens are personal access tokens.
	AccessTokens *sqlstore.AccessTokens
}

// New builds every domain store over db.
func New(db DB) Stores {
	return Stores{
		Users:    sqlstore.NewUsers(db),
		Sessions: sqlstore.NewSessions(db),
		Audit:    sqlstore.NewAudit(db),
		Files:    sqlstore.NewFiles(db),
		Outbox:   sqlstore.NewOutbox(db),
		MFA:      sqlstore.NewMFA(db),

		AccessTokens: sqlstore.NewAccessTokens(db),
	}
}

// Unit returns db's one unit of work as a service sees it, through its
// interface S of the stores it uses (auth.Stores, user.Stores, ...), which
// every transaction's *sqlstore.Tx implements.
func Unit[S any](db DB, view func(*sqlstore.Tx) S) sqlstore.Unit[S] {
	return sqlstore.NewUnit(db, view)
}
