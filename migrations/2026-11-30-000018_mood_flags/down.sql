DELETE FROM flags WHERE level = 'mood';
ALTER TABLE flags DROP CONSTRAINT flags_raised_by_one;
ALTER TABLE flags DROP COLUMN check_in_id;
ALTER TABLE flags ALTER COLUMN report_id SET NOT NULL;
ALTER TABLE flags DROP CONSTRAINT flags_level_check;
ALTER TABLE flags ADD CONSTRAINT flags_level_check CHECK (level IN ('amber', 'red_pelvic', 'red_medical'));
