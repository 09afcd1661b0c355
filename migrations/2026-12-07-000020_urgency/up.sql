-- SPEC §1.8, urgency: every report's triage and every flag carry how soon she needs care
-- (`emergency` | `today` | `soon` | `routine`), and the practice says where it is (`country`,
-- ISO 3166-1 alpha-2) or which number to call (`emergency_number`) so an emergency finding
-- tells her the right number (default 112; 999 for GB; 911 for US and CA).
ALTER TABLE organizations
    ADD COLUMN country text CHECK (country ~ '^[A-Z]{2}$'),
    ADD COLUMN emergency_number text CHECK (emergency_number ~ '^[0-9]{2,6}$');

ALTER TABLE symptom_reports
    ADD COLUMN urgency text NOT NULL DEFAULT 'routine'
        CHECK (urgency IN ('emergency', 'today', 'soon', 'routine'));
-- Reports written before: their medical signs as §1.8 reads them.
UPDATE symptom_reports SET urgency = CASE
    WHEN triage_level = 'red_medical' AND (
            symptoms->>'chest_pain' = 'true' OR symptoms->>'breathless_at_rest' = 'true'
         OR symptoms->>'calf_pain_or_swelling' = 'true' OR symptoms->>'dizziness_or_fainting' = 'true')
        THEN 'emergency'
    WHEN triage_level = 'red_medical' THEN 'today'
    WHEN triage_level = 'red_pelvic' THEN 'soon'
    ELSE 'routine' END
 WHERE triage_level <> 'green';

-- A flag is as urgent as the most urgent report it holds; an emergency comes first in the
-- inbox (severity 4).
ALTER TABLE flags
    ADD COLUMN urgency text NOT NULL DEFAULT 'routine'
        CHECK (urgency IN ('emergency', 'today', 'soon', 'routine'));
UPDATE flags f SET urgency = COALESCE((
    SELECT r.urgency FROM symptom_reports r WHERE r.flag_id = f.id
     ORDER BY CASE r.urgency WHEN 'emergency' THEN 3 WHEN 'today' THEN 2 WHEN 'soon' THEN 1 ELSE 0 END DESC
     LIMIT 1), CASE f.level WHEN 'red_medical' THEN 'today' WHEN 'red_pelvic' THEN 'soon' ELSE 'routine' END);
UPDATE flags SET severity = 4 WHERE urgency = 'emergency';
