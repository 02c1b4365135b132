-- +goose Up
-- Optional days of the week (mon,tue,…; empty = every day) and hours
-- ("11:00-14:00", Japan time; empty = all day) when a perk applies.
ALTER TABLE perks ADD COLUMN days TEXT NOT NULL DEFAULT '';
ALTER TABLE perks ADD COLUMN hours TEXT NOT NULL DEFAULT '';

-- +goose Down
SELECT 'forward-only';
