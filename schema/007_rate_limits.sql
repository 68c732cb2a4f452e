-- Per-user prompt counters for the hourly rate limit, and exact per-call costs in the usage ledger.

-- One row per user, bucket (what is limited, e.g. 'prompts') and fixed one-hour window. The
-- limiter increments with one UPSERT ... RETURNING, so concurrent requests never both see a
-- free slot; the same statement deletes the user's past windows, so the table stays small.
CREATE TABLE rate_limit_counters (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    bucket       text NOT NULL CHECK (bucket ~ '^[a-z][a-z0-9_]*$'),
    window_start timestamptz NOT NULL,
    count        integer NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (user_id, bucket, window_start)
);
COMMENT ON TABLE rate_limit_counters IS 'Requests per user and bucket in the current fixed window (see shared::rate_limit)';

-- Prices are per 1,000 tokens with 6 decimals, so one call costs an exact multiple of 1e-9
-- USD; numeric(14,6) rounded cheap calls (7 tokens at $0.00015/1k) to zero.
ALTER TABLE usage_events ALTER COLUMN cost TYPE numeric(20,9);
