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
	return out, nil
}
