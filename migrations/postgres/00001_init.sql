-- +goose Up
CREATE TABLE members (
    id               TEXT PRIMARY KEY,
    employee_no      TEXT NOT NULL UNIQUE,
    family_name      TEXT NOT NULL,
    given_name       TEXT NOT NULL,
    family_name_kana TEXT NOT NULL DEFAULT '',
    given_name_kana  TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL,
    tier             TEXT NOT NULL,
    departed_on      TEXT NOT NULL,
    locale           TEXT NOT NULL DEFAULT 'ja',
    status           TEXT NOT NULL DEFAULT 'active',
    status_reason    TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX members_email_idx ON members (LOWER(email));
CREATE INDEX members_status_idx ON members (status, tier);

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    public_key      BYTEA NOT NULL,
    private_key_enc BYTEA NOT NULL,
    status          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    retired_at      TIMESTAMPTZ
);

CREATE TABLE cards (
    id                TEXT PRIMARY KEY,
    member_id         TEXT NOT NULL REFERENCES members (id),
    status            TEXT NOT NULL,
    kid               TEXT NOT NULL REFERENCES signing_keys (kid),
    signed_part       TEXT NOT NULL,
    totp_secret_enc   BYTEA NOT NULL,
    companions        INTEGER NOT NULL,
    issued_at         TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ NOT NULL,
    revoked_at        TIMESTAMPTZ,
    enroll_token_hash TEXT NOT NULL UNIQUE,
    enroll_expires_at TIMESTAMPTZ NOT NULL,
    enrolled_at       TIMESTAMPTZ,
    wallet_token_hash TEXT UNIQUE,
    consent_version   TEXT,
    consent_at        TIMESTAMPTZ
);
CREATE UNIQUE INDEX cards_one_active_idx ON cards (member_id) WHERE status = 'active';

CREATE TABLE guest_passes (
    id          TEXT PRIMARY KEY,
    card_id     TEXT NOT NULL REFERENCES cards (id),
    member_id   TEXT NOT NULL REFERENCES members (id),
    code        TEXT NOT NULL,
    party_size  INTEGER NOT NULL,
    valid_from  TIMESTAMPTZ NOT NULL,
    valid_until TIMESTAMPTZ NOT NULL,
    max_uses    INTEGER NOT NULL,
    uses        INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX guest_passes_member_idx ON guest_passes (member_id, created_at);

CREATE TABLE partners (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE venues (
    id         TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE perks (
    id              TEXT PRIMARY KEY,
    partner_id      TEXT NOT NULL REFERENCES partners (id),
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    eligible_tiers  TEXT NOT NULL,
    companions      INTEGER NOT NULL,
    limit_per_day   INTEGER NOT NULL DEFAULT 0,
    limit_per_month INTEGER NOT NULL DEFAULT 0,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE admins (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL,
    partner_id      TEXT REFERENCES partners (id),
    totp_secret_enc BYTEA,
    totp_enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    locale          TEXT NOT NULL DEFAULT 'ja',
    created_at      TIMESTAMPTZ NOT NULL,
    disabled_at     TIMESTAMPTZ
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    admin_id   TEXT NOT NULL REFERENCES admins (id),
    csrf       TEXT NOT NULL,
    mfa_done   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    partner_id   TEXT REFERENCES partners (id),
    venue_id     TEXT REFERENCES venues (id),
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE TABLE pairing_codes (
    code_hash  TEXT PRIMARY KEY,
    venue_id   TEXT NOT NULL REFERENCES venues (id),
    name       TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE verifications (
    id            TEXT PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    partner_id    TEXT NOT NULL,
    venue_id      TEXT NOT NULL,
    api_key_id    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    card_id       TEXT,
    guest_pass_id TEXT,
    member_id     TEXT,
    code_hash     TEXT NOT NULL,
    result        TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX verifications_at_idx ON verifications (at);
CREATE INDEX verifications_member_idx ON verifications (member_id, at);

-- code_uses holds the first valid use of each code text; its primary key is
-- what makes "replayed" hold across instances.
CREATE TABLE code_uses (
    code_hash       TEXT PRIMARY KEY,
    verification_id TEXT NOT NULL,
    venue_id        TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX code_uses_expires_idx ON code_uses (expires_at);

CREATE TABLE redemptions (
    id              TEXT PRIMARY KEY,
    verification_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    api_key_id      TEXT NOT NULL,
    perk_id         TEXT NOT NULL REFERENCES perks (id),
    partner_id      TEXT NOT NULL,
    venue_id        TEXT NOT NULL,
    member_id       TEXT NOT NULL,
    card_id         TEXT,
    guest_pass_id   TEXT,
    party_size      INTEGER NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    UNIQUE (api_key_id, idempotency_key),
    UNIQUE (verification_id, perk_id)
);
CREATE INDEX redemptions_partner_idx ON redemptions (partner_id, at);
CREATE INDEX redemptions_member_idx ON redemptions (member_id, at);

-- perk_usage counts uses per member, perk and period; a guarded upsert on it
-- enforces limits atomically on both databases.
CREATE TABLE perk_usage (
    perk_id   TEXT NOT NULL,
    member_id TEXT NOT NULL,
    period    TEXT NOT NULL,
    uses      INTEGER NOT NULL,
    PRIMARY KEY (perk_id, member_id, period)
);

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    before_json TEXT NOT NULL DEFAULT '',
    after_json  TEXT NOT NULL DEFAULT '',
    request_id  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id);

-- +goose Down
SELECT 'forward-only';
