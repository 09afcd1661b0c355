ALTER TABLE plan_transitions ALTER COLUMN rule_ids DROP DEFAULT;
ALTER TABLE plan_transitions
    ALTER COLUMN rule_ids TYPE text
    USING array_to_string(rule_ids, ' ');
ALTER TABLE plan_transitions ALTER COLUMN rule_ids SET DEFAULT '';
