-- +goose Up
-- PostgreSQL only (BRIN time indexes, C collation on random keys): SQLite
-- already compares text bytewise and has no BRIN. The version exists here
-- too so both databases report the same schema version.
SELECT 1;

-- +goose Down
SELECT 'forward-only';
