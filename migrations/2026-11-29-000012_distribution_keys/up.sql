-- Every table of practice data carries its organization: the key a sharded PostgreSQL
-- (Citus) distributes by, so a practice's rows live together (docs/SCALING.md). The last two
-- tables without it get it, filled in from their parents.
ALTER TABLE refresh_tokens ADD COLUMN organization_id uuid REFERENCES organizations (id);
UPDATE refresh_tokens r SET organization_id = u.organization_id FROM users u WHERE u.id = r.user_id;
ALTER TABLE refresh_tokens ALTER COLUMN organization_id SET NOT NULL;

ALTER TABLE program_versions ADD COLUMN organization_id uuid REFERENCES organizations (id);
UPDATE program_versions v SET organization_id = p.organization_id FROM programs p WHERE p.id = v.program_id;
ALTER TABLE program_versions ALTER COLUMN organization_id SET NOT NULL;
