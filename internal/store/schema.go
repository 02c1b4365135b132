package store

import (
	"context"
	"fmt"
)

// Schema lists the application's tables and their columns, for the test
// that keeps the two dialects' migrations in step.
func (c *Conn) Schema(ctx context.Context) (map[string][]string, error) {
	q := `SELECT table_name AS t, column_name AS c FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name <> 'goose_db_version'`
	if c.s.dialect == SQLite {
		q = `SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version'`
	}
	var rows []struct {
		T string `db:"t"`
		C string `db:"c"`
	}
	if err := c.x.SelectContext(ctx, &rows, q); err != nil {
		return nil, fmt.Errorf("schema: %w", mapErr(err))
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.T] = append(out[r.T], r.C)
	}
	return out, nil
}
