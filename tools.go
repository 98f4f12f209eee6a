//go:build tools

// The blank imports pin the code generators and task runner in go.mod so that
// every machine runs the same versions through `go run`.
package secureapi

import (
	_ "github.com/go-task/task/v3/cmd/task"
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
	_ "github.com/pressly/goose/v3/cmd/goose"
	_ "github.com/sqlc-dev/sqlc/cmd/sqlc"
)
