DROP INDEX symptom_reports_plan_created_idx;
DROP INDEX readiness_results_plan_idx;
DROP INDEX session_logs_plan_idx;
