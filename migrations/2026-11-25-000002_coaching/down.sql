DROP TABLE readiness_results;
DROP TABLE session_logs;
DROP TABLE plan_transitions;
DROP TABLE plans;
DROP INDEX users_client_key;
ALTER TABLE users DROP COLUMN client_id;
DROP TABLE clients;
DROP TABLE program_versions;
DROP TABLE programs;
