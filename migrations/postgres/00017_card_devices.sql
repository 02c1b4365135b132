-- +goose Up
-- Format version 2 (docs/credential-format.md, section 12): a card bound to
-- the member's phone. device_key is the compressed P-256 public key the
-- wallet made with WebCrypto (33 bytes); signed_part_v2 is the issuer's
-- signed part of the v2 card. Both are set once, together; a card that has
-- them accepts only version 2 codes.
ALTER TABLE cards ADD COLUMN device_key BYTEA;
ALTER TABLE cards ADD COLUMN signed_part_v2 TEXT;

-- +goose Down
SELECT 'forward-only';
