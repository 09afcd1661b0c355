-- Throttles shared by every instance of the service: one row per limited key (a digest of a
-- client address, an account's email or a caller), holding the key's "theoretical arrival
-- time" (GCRA): a request is let through while that time stays within the burst allowance.
-- Rows whose time has passed are back to a full allowance and are purged.
CREATE TABLE throttles (
    key bytea PRIMARY KEY,
    tat timestamptz NOT NULL
);
