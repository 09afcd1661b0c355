-- The engine weighs a step's reports in the order the server received them, never in the
-- order of their ids (which an app may choose): triage's last two reports are read newest
-- first by time of arrival.
DROP INDEX symptom_reports_plan_step_idx;
CREATE INDEX symptom_reports_plan_step_idx
    ON symptom_reports (plan_id, stage, (COALESCE(level, 0)), created_at, id);
