-- +goose Up
-- What the server knows of a card's phone clock, to tell a wrong clock from
-- an old code when a scan is stale: the offset the phone's clock had when
-- its wallet last synchronised (server time minus the phone's), and the
-- offset of the card's last stale scan (a steady offset is a clock, a
-- growing one a screenshot). One row per card, written rarely.
CREATE TABLE wallet_clocks (
    card_id        TEXT PRIMARY KEY REFERENCES cards (id),
    reported_ms    BIGINT,
    reported_at    TIMESTAMP,
    stale_seconds  INTEGER,
    stale_at       TIMESTAMP
);

-- +goose Down
SELECT 'forward-only';
