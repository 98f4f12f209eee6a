// Package migrations embeds the goose migrations for each supported SQL dialect.
// sqlc reads the same files as its schema, so queries and schema cannot drift.
package migrations

import "embed"

// FS holds sqlite/*.sql and postgres/*.sql.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
