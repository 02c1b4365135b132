-- +goose Up
-- A CSV file previewed in the console, kept until it is applied or expires
-- (an hour). In the database, not on one instance's disk, so that behind a
-- load balancer the preview and the "Import" click may land on different
-- instances. Only the admin who uploaded it may apply it.
CREATE TABLE import_uploads (
    hash       TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    data       BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (hash, owner_id)
);
CREATE INDEX import_uploads_expires_idx ON import_uploads (expires_at);

-- +goose Down
SELECT 'forward-only';
