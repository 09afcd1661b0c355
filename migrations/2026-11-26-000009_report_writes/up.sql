-- What a symptom report costs to write (BENCHMARKS.md, "Eighth run"): every index on
-- symptom_reports is updated by every report, and every foreign key is checked.

-- One check that a report's client is of its organization, where two checked each on its own
-- (and every report locked the organization's row to do it).
CREATE UNIQUE INDEX clients_organization_id_key ON clients (organization_id, id);
DROP INDEX clients_organization_id_idx;
ALTER TABLE symptom_reports
    ADD CONSTRAINT symptom_reports_client_fkey FOREIGN KEY (organization_id, client_id)
        REFERENCES clients (organization_id, id),
    DROP CONSTRAINT symptom_reports_client_id_fkey,
    DROP CONSTRAINT symptom_reports_organization_id_fkey;

-- The engine reads a step's reports newest first (triage's last two) and since the step began:
-- one index serves both, with the level as a key even when there is none (0: levels start at 1).
DROP INDEX symptom_reports_plan_step_idx;
DROP INDEX symptom_reports_plan_created_idx;
CREATE INDEX symptom_reports_plan_step_idx ON symptom_reports (plan_id, stage, (COALESCE(level, 0)), id);

-- Reports changed since a moment are read for one client at a time: her reports by id
-- (symptom_reports_client_idx) and a filter on the time are enough.
DROP INDEX symptom_reports_updated_idx;
