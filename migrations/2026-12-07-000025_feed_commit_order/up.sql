-- The change feed orders changes by when their transaction committed, per practice, instead of
-- by transaction id bounded by the oldest transaction still running on the whole server. A
-- long write anywhere (an import, a transaction left open, another application on a shared
-- server) no longer holds back any other practice's feed.
--
-- Each transaction that logs changes for a practice gets one `sync_commits` row when it first
-- does, and a commit position from `sync_commit_seq` at commit time: a deferred trigger takes
-- the practice's feed lock in shared mode, then the next position, and holds the lock until
-- the commit is visible. A page (db::sync::page) first takes the same lock exclusively for an
-- instant and reads the sequence: every position up to that value belongs to a transaction
-- that has ended, and every later commit gets a higher one, so a change that commits late
-- always comes after any cursor already handed out. A page waits only for commits of its own
-- practice that are in their last moment, never for running transactions.
LOCK TABLE sync_changes IN EXCLUSIVE MODE;

CREATE TABLE sync_commits (
    txid xid8 NOT NULL,
    organization_id uuid NOT NULL,
    commit_seq bigint,
    PRIMARY KEY (txid, organization_id)
);
CREATE INDEX sync_commits_position_idx ON sync_commits (organization_id, commit_seq);

-- Changes logged before this migration keep their places: their transaction id is their
-- position, and every new position comes after the newest of them.
INSERT INTO sync_commits (txid, organization_id, commit_seq)
SELECT DISTINCT txid, organization_id, (txid::text)::bigint FROM sync_changes;
DO $$
BEGIN
    EXECUTE format('CREATE SEQUENCE sync_commit_seq START WITH %s',
                   (pg_current_xact_id()::text)::bigint + 1);
END;
$$;

-- The practice's feed lock: writers share it while they commit, a page takes it alone.
CREATE FUNCTION sync_feed_lock_key(organization uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT hashtextextended('sync_feed:' || organization::text, 0) $$;

CREATE FUNCTION sync_register_commits() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_commits (txid, organization_id)
    SELECT DISTINCT n.txid, n.organization_id FROM new_rows n
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sync_changes_commits AFTER INSERT ON sync_changes REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_register_commits();

CREATE FUNCTION sync_assign_commit_position() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(sync_feed_lock_key(NEW.organization_id));
    UPDATE sync_commits SET commit_seq = nextval('sync_commit_seq')
     WHERE txid = NEW.txid AND organization_id = NEW.organization_id;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER sync_commits_position AFTER INSERT ON sync_commits
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sync_assign_commit_position();

-- The newest position a page of this practice may read: waits for the practice's commits in
-- their last moment (and only those), then reads the sequence. Run as its own statement,
-- before the page's: the page's snapshot must be taken after it.
CREATE FUNCTION sync_settled_position(organization uuid) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    settled bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(sync_feed_lock_key(organization));
    SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END INTO settled
      FROM sync_commit_seq;
    RETURN settled;
END;
$$;

-- The horizon of pruned deletions is a commit position too.
ALTER TABLE sync_horizon ADD COLUMN commit_seq bigint;
UPDATE sync_horizon SET commit_seq = (txid::text)::bigint;
ALTER TABLE sync_horizon ALTER COLUMN commit_seq SET NOT NULL;
ALTER TABLE sync_horizon DROP COLUMN txid;
