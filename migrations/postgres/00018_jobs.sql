-- +goose Up
-- Background work is a table, not a goroutine (STYLE.md). A job is one
-- request of HR (today: bulk enrolment invitations); its items are the
-- members it covers, one row each, so a member is never in one job twice.
-- A worker claims pending items (FOR UPDATE SKIP LOCKED on PostgreSQL, the
-- single writer on SQLite) under a lease; a restart finds them again.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'cancelled')),
    source       TEXT NOT NULL,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    actor_name   TEXT NOT NULL,
    total        INTEGER NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ
);
CREATE INDEX jobs_created_idx ON jobs (created_at);

-- state: pending → claimed (card being prepared; nothing sent yet) →
-- sending (the e-mail is being handed over) → sent | bounced; or no_email,
-- skipped, failed, unknown (the lease of a 'sending' item ran out and the
-- mailer cannot confirm: never sent again automatically), cancelled.
CREATE TABLE job_items (
    id           TEXT PRIMARY KEY,
    job_id       TEXT NOT NULL REFERENCES jobs (id),
    member_id    TEXT NOT NULL REFERENCES members (id),
    seq          INTEGER NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    lease_owner  TEXT NOT NULL DEFAULT '',
    lease_until  TIMESTAMPTZ,
    card_id      TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '',
    updated_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (job_id, member_id)
);
CREATE INDEX job_items_open_idx ON job_items (state, job_id, seq) WHERE state IN ('pending', 'claimed', 'sending');
CREATE INDEX job_items_job_idx ON job_items (job_id, seq);

-- +goose Down
SELECT 'forward-only';
