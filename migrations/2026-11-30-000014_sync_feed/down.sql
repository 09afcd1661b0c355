-- Dropping the trigger functions drops their triggers.
DROP FUNCTION sync_record_client_inserts() CASCADE;
DROP FUNCTION sync_record_inserts() CASCADE;
DROP FUNCTION sync_record_client_change() CASCADE;
DROP FUNCTION sync_record_change() CASCADE;
DROP FUNCTION sync_fan_out(uuid, uuid, uuid, boolean);
DROP TABLE sync_horizon;
DROP TABLE sync_changes;
