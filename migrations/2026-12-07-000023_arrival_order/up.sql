-- Her reports, sessions and check-ins are listed in the order they reached the server
-- (`created_at`, then id), never in the order of ids an app chose.
DROP INDEX symptom_reports_client_idx;
CREATE INDEX symptom_reports_client_arrival_idx ON symptom_reports (client_id, created_at, id);
DROP INDEX session_logs_client_idx;
CREATE INDEX session_logs_client_arrival_idx ON session_logs (client_id, created_at, id);
CREATE INDEX check_ins_client_arrival_idx ON check_ins (client_id, created_at, id);
