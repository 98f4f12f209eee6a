// Package secureapi holds the service's OpenAPI document, the source of truth
// for its HTTP surface, embedded so the binary serves and validates against
// exactly the spec it was generated from.
package secureapi

import _ "embed"

// OpenAPI is openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
