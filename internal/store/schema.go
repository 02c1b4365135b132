package store

import (
	"context"
	"fmt"
)

// Schema lists the application's tables and their columns, for the test
// that keeps the two dialects' migrations in step.
func (c *Conn) Schema(ctx context.Context) (map[string][]string, error) {
	q := c.s.dialect.schema
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
	if c.s.dialect.name == Postgres {
		// The partitions of a partitioned table (the scan log's months,
		// migration 00014) are its storage, not tables of their own.
		var parts []string
		if err := c.x.SelectContext(ctx, &parts, `SELECT relname FROM pg_class WHERE relispartition`); err != nil {
			return nil, fmt.Errorf("schema: %w", mapErr(err))
		}
		for _, p := range parts {
			delete(out, p)
		}
	}
	return out, nil
}
