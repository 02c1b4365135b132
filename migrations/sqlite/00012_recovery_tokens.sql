-- +goose Up
-- A lost phone: the alumnus asks for a link at the e-mail on file; the link
-- (its hash kept here, single use, short-lived) replaces the card with a new
-- one to enrol on the new phone, which ends the old wallet.
CREATE TABLE recovery_tokens (
    token_hash TEXT PRIMARY KEY,
    member_id  TEXT NOT NULL REFERENCES members (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX recovery_tokens_member_idx ON recovery_tokens (member_id);

-- +goose Down
SELECT 'forward-only';
