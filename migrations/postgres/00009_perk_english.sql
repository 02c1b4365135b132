-- +goose Up
-- Perks may be written in English as well: title_en and description_en are
-- shown to readers whose page is in English; empty means "show the default
-- (Japanese) text".
ALTER TABLE perks ADD COLUMN title_en TEXT NOT NULL DEFAULT '';
ALTER TABLE perks ADD COLUMN description_en TEXT NOT NULL DEFAULT '';

-- +goose Down
SELECT 'forward-only';
