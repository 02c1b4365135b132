-- +goose Up
-- PostgreSQL only (native partitioning of the scan log by month). SQLite
-- has no partitioning; it serves one instance and a smaller log, and its
-- retention stays a DELETE of old rows (store.PurgeBefore), which frees
-- pages for reuse without a vacuum of the whole file. The version exists
-- here too so both databases report the same schema version.
SELECT 1;

-- +goose Down
SELECT 'forward-only';
