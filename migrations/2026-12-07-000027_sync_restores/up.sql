-- Each restore of a backup (`runback restore`) leaves a gap in the change feed's commit
-- positions: [gap_from, gap_to) holds every position the service may have issued after the
-- backup was taken, and none is issued again. A cursor inside a gap comes from data the restore
-- took away; it is refused (410) instead of silently skipping or repeating.
CREATE TABLE sync_restores (
    gap_from    bigint PRIMARY KEY,
    gap_to      bigint NOT NULL CHECK (gap_to > gap_from),
    restored_at timestamptz NOT NULL DEFAULT now()
);
