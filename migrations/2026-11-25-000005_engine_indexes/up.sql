-- The engine reads a plan's sessions and readiness results after every write; without these
-- it scanned the whole table (seen under load in bench/run).
CREATE INDEX session_logs_plan_idx ON session_logs (plan_id, created_at);
CREATE INDEX readiness_results_plan_idx ON readiness_results (plan_id);
CREATE INDEX symptom_reports_plan_created_idx ON symptom_reports (plan_id, created_at);
