-- SPEC §1.8, gate tests: the readiness tests that open jogging count only when recorded or
-- confirmed by staff. A result a coach or admin recorded is confirmed when it is recorded; one
-- she recorded herself waits for a coach's confirmation.
ALTER TABLE readiness_results
    ADD COLUMN confirmed_by uuid,
    ADD COLUMN confirmed_at timestamptz,
    ADD CONSTRAINT readiness_confirmed_together CHECK ((confirmed_by IS NULL) = (confirmed_at IS NULL));
UPDATE readiness_results t SET confirmed_by = t.recorded_by, confirmed_at = t.created_at
  FROM users u
 WHERE u.id = t.recorded_by AND u.role IN ('admin', 'coach');
