-- +goose Up
-- Rate limits shared by every instance (issue 17): enrolment, pairing,
-- lost-phone requests, guest passes and second-factor codes take their
-- place here in one statement, and verify's guessing failures are counted
-- here, so N instances behind a load balancer give an attacker one budget,
-- not N. Times are Unix milliseconds: the take is a single UPSERT whose
-- window arithmetic must read the same on both engines.
--   window_start  when the current window opened
--   count         events (or failures) in it
--   blocked_until until when the key is refused everywhere (0: not blocked);
--                 published as a "throttle" change notice when it is set
--   expires_at    when the row stops holding anyone back (window end, or
--                 the block's end if later); the sweep deletes past rows
CREATE TABLE rate_limits (
    key           TEXT PRIMARY KEY,
    window_start  BIGINT NOT NULL,
    count         INTEGER NOT NULL,
    blocked_until BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX rate_limits_expires_at_idx ON rate_limits (expires_at);
CREATE INDEX rate_limits_blocked_until_idx ON rate_limits (blocked_until);

-- +goose Down
SELECT 'forward-only';
