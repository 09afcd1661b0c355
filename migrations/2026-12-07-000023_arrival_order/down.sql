DROP INDEX check_ins_client_arrival_idx;
DROP INDEX session_logs_client_arrival_idx;
CREATE INDEX session_logs_client_idx ON session_logs (client_id, id);
DROP INDEX symptom_reports_client_arrival_idx;
CREATE INDEX symptom_reports_client_idx ON symptom_reports (client_id, id);
