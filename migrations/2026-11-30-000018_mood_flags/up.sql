-- A mood screen (PHQ-2) of 3 or more opens an informational flag for her coach: level `mood`,
-- raised by a check-in instead of a report. It changes nothing in her plan, is never sent to
-- webhooks, and is shown to her coach only.
ALTER TABLE flags DROP CONSTRAINT flags_level_check;
ALTER TABLE flags ADD CONSTRAINT flags_level_check
    CHECK (level IN ('amber', 'red_pelvic', 'red_medical', 'mood'));
ALTER TABLE flags ALTER COLUMN report_id DROP NOT NULL;
ALTER TABLE flags ADD COLUMN check_in_id uuid REFERENCES check_ins (id);
ALTER TABLE flags ADD CONSTRAINT flags_raised_by_one
    CHECK ((report_id IS NULL) <> (check_in_id IS NULL) AND (check_in_id IS NULL) = (level <> 'mood'));
