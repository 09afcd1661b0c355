-- A transition's rules as an array of rule ids (`{R2}`, `{R6,R7}`) instead of one
-- space-separated string.
ALTER TABLE plan_transitions ALTER COLUMN rule_ids DROP DEFAULT;
ALTER TABLE plan_transitions
    ALTER COLUMN rule_ids TYPE text[]
    USING coalesce(regexp_split_to_array(nullif(btrim(rule_ids), ''), '\s+'), '{}');
ALTER TABLE plan_transitions ALTER COLUMN rule_ids SET DEFAULT '{}';
