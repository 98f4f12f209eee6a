// Package migrate applies the embedded goose migrations.
package migrate

import (
	"database/sql"
	"fmt"
	"io/fs"

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
