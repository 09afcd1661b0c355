UPDATE flags SET severity = 3 WHERE severity = 4;
ALTER TABLE flags DROP COLUMN urgency;
ALTER TABLE symptom_reports DROP COLUMN urgency;
ALTER TABLE organizations DROP COLUMN emergency_number, DROP COLUMN country;
