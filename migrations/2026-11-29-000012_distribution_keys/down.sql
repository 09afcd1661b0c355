ALTER TABLE program_versions DROP COLUMN organization_id;
ALTER TABLE refresh_tokens DROP COLUMN organization_id;
