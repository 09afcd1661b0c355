-- Individual timelines (2024 consensus). After a caesarean birth, her scar reviewed and
-- cleared: when, the clinician who saw her, and who recorded it. On a plan, an individual
-- jogging gate date set by a coach with a reason and the clinician who agreed. Both are NULL
-- for every existing client and plan, and the program versions plans are pinned to keep their
-- gates: nothing existing behaves differently.
ALTER TABLE clients
    ADD COLUMN caesarean_scar_cleared_on date,
    ADD COLUMN caesarean_scar_clinician text CHECK (length(caesarean_scar_clinician) BETWEEN 1 AND 200),
    ADD COLUMN caesarean_scar_recorded_by uuid REFERENCES users (id),
    ADD CONSTRAINT clients_scar_clearance_whole
        CHECK ((caesarean_scar_cleared_on IS NULL) = (caesarean_scar_clinician IS NULL));

ALTER TABLE plans
    ADD COLUMN jogging_gate_on date,
    ADD COLUMN jogging_gate_reason text CHECK (length(jogging_gate_reason) BETWEEN 1 AND 2000),
    ADD COLUMN jogging_gate_agreed_by text CHECK (length(jogging_gate_agreed_by) BETWEEN 1 AND 200),
    ADD COLUMN jogging_gate_set_by uuid REFERENCES users (id),
    ADD COLUMN jogging_gate_set_at timestamptz,
    ADD CONSTRAINT plans_jogging_gate_whole
        CHECK ((jogging_gate_on IS NULL) = (jogging_gate_reason IS NULL)
           AND (jogging_gate_on IS NULL) = (jogging_gate_agreed_by IS NULL));
