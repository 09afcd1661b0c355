CREATE INDEX symptom_reports_updated_idx ON symptom_reports (client_id, updated_at);
DROP INDEX symptom_reports_plan_step_idx;
CREATE INDEX symptom_reports_plan_step_idx ON symptom_reports (plan_id, stage, level, id);
CREATE INDEX symptom_reports_plan_created_idx ON symptom_reports (plan_id, created_at);
ALTER TABLE symptom_reports
    ADD CONSTRAINT symptom_reports_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    ADD CONSTRAINT symptom_reports_client_id_fkey FOREIGN KEY (client_id) REFERENCES clients (id),
    DROP CONSTRAINT symptom_reports_client_fkey;
CREATE INDEX clients_organization_id_idx ON clients (organization_id, id);
DROP INDEX clients_organization_id_key;
