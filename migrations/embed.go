// Package migrations embeds the forward-only schema migrations, one folder
// per SQL dialect with the same version numbers, so the binary carries them.
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
