ALTER TABLE readiness_results DROP CONSTRAINT readiness_confirmed_together,
    DROP COLUMN confirmed_at, DROP COLUMN confirmed_by;
