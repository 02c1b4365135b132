// Package architecture holds no code: its test keeps the import rules of
// STYLE.md true as the code grows (model and credential do no I/O, only
// store speaks SQL, nothing imports web but cmd, features stay apart).
package architecture
