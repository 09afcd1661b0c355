DROP INDEX symptom_reports_plan_step_idx;
CREATE INDEX symptom_reports_plan_step_idx ON symptom_reports (plan_id, stage, (COALESCE(level, 0)), id);
