// Package static embeds the web assets (CSS, JavaScript, vendored
// libraries, icons), the page templates and the message catalogues, so the
// binary is self-contained.
package static

import "embed"

// FS holds everything under static/ except Go files.
//
//go:embed css js vendor templates i18n sw.js manifest.webmanifest all:icons
var FS embed.FS
