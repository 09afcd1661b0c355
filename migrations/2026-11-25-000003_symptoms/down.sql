ALTER TABLE flags DROP CONSTRAINT flags_report_fk;
DROP TABLE symptom_reports;
DROP TABLE flags;
