//! The safety revision (SPEC §1.8), end to end as a coach and a mother meet it: silence never
//! moves her on, danger is answered with urgency, moves toward safety apply themselves, and
//! today's session obeys safety. Each test is named in docs/CLINICAL_SAFETY.md.

use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

use crate::symptoms::{day, rules, Scene};

impl Scene {
    async fn today(&self) -> Value {
        let res = self
            .app
            .get(
                &format!("/v1/clients/{}/plan/today", self.client),
                Some(&self.coach.token),
            )
            .await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// A session on `offset` days from today; its id.
    async fn session_id(&self, offset: i64) -> String {
        let res = self
            .app
            .post(
                &format!("/v1/clients/{}/sessions", self.client),
                Some(&self.coach.token),
                &json!({"performed_on": day(offset), "completed": true}),
            )
            .await;
        assert_eq!(res.status(), 201);
        res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn resolve(&self, flag: &str) {
        let res = self
            .app
            .post(
                &format!("/v1/flags/{flag}/resolve"),
                Some(&self.coach.token),
                &json!({"note": "Seen and settled."}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }

    async fn pass_lunge_tests(&self) {
        self.pass_lunge_tests_as(&self.coach.token).await;
    }

    /// Every lunges test passed, recorded with `token`; the results.
    async fn pass_lunge_tests_as(&self, token: &str) -> Vec<Value> {
        let mut results = Vec::new();
        for (test, reached, sides) in [
            ("jog_on_the_spot", 60, &["both"][..]),
            ("forward_bounds", 10, &["both"][..]),
            ("hop_in_place", 10, &["left", "right"][..]),
            ("running_man", 10, &["left", "right"][..]),
            ("single_leg_calf_raise", 20, &["left", "right"][..]),
            ("single_leg_bridge", 20, &["left", "right"][..]),
            ("single_leg_sit_to_stand", 20, &["left", "right"][..]),
            ("side_lying_abduction", 20, &["left", "right"][..]),
        ] {
            for side in sides {
                let res = self
                    .app
                    .post(
                        &format!("/v1/clients/{}/readiness-tests", self.client),
                        Some(token),
                        &json!({"test": test, "reached": reached, "side": side, "symptom_free": true}),
                    )
                    .await;
                assert_eq!(res.status(), 201);
                results.push(res.json().await.unwrap());
            }
        }
        results
    }

    /// Two lunges sessions with green reports, the last today.
    async fn two_green_sessions(&self) -> Value {
        for offset in [-2, 0] {
            self.session(offset).await;
        }
        self.report(json!({"timing": "immediately_after", "reported_on": day(-2)}))
            .await;
        self.report(json!({"timing": "immediately_after"})).await
    }
}

fn reason_with<'a>(recommendation: &'a Value, words: &str) -> Option<&'a Value> {
    recommendation["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["message"].as_str().unwrap().contains(words))
}

/// Hazard H1: three crawling sessions and no report used to advance her to walking hills.
#[tokio::test]
async fn silence_three_crawling_sessions_without_a_report_hold() {
    let s = Scene::new(40, "crawling", None).await;
    s.auto_progress().await;
    s.session(-5).await;
    s.session(-3).await;
    let last = s.session_id(-1).await;
    let plan = s.plan().await;
    assert_eq!(plan["stage"], "crawling");
    assert_eq!(plan["recommendation"]["decision"], "hold", "{plan}");
    assert!(
        reason_with(&plan["recommendation"], "No report yet for your session of").is_some(),
        "{plan}"
    );
    // A coach records the reports for her, the last one naming its session (a report in daily
    // life is about a session only when it names it): then she moves on.
    for offset in [-5, -3] {
        s.report(json!({"timing": "immediately_after", "reported_on": day(offset)}))
            .await;
    }
    let answer = s
        .report(json!({"timing": "daily_life", "session_id": last}))
        .await;
    assert_eq!(answer["recommendation"]["decision"], "advance", "{answer}");
    assert_eq!(s.plan().await["stage"], "walking_hills");
}

/// Hazard H1: two lunges sessions, no report, tests passed used to open jogging.
#[tokio::test]
async fn silence_two_lunges_sessions_without_a_report_never_open_jogging() {
    let s = Scene::new(120, "lunges", None).await;
    s.auto_progress().await;
    s.pass_lunge_tests().await;
    s.session(-3).await;
    s.session(-1).await;
    let plan = s.plan().await;
    assert_eq!(plan["stage"], "lunges");
    assert_eq!(plan["recommendation"]["decision"], "hold", "{plan}");
    assert!(rules(&plan["recommendation"]).contains(&"R2".to_string()));
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = Text)]
    event_type: String,
}

/// Hazard H2: chest pain got "today"; a headache with disturbed vision was not asked at all.
#[tokio::test]
async fn danger_signs_answer_emergency_with_the_practices_number_and_come_first() {
    let s = Scene::new(60, "walking_hills", None).await;
    let res = s
        .app
        .post(
            "/v1/webhooks",
            Some(&s.admin.token),
            &json!({"url": "http://127.0.0.1:9/hooks", "events": ["flag.emergency"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let amber = s
        .report(json!({"timing": "during", "urine_leak": "drops", "leak_trigger": "impact"}))
        .await;
    assert_eq!(amber["triage"]["urgency"], "routine");
    let chest = s
        .report(json!({"timing": "daily_life", "chest_pain": true}))
        .await;
    assert_eq!(chest["triage"]["level"], "red_medical");
    assert_eq!(chest["triage"]["urgency"], "emergency");
    let message = chest["triage"]["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("call your local emergency number now (112)"),
        "{message}"
    );
    // In the United Kingdom the number is 999.
    let res = s
        .app
        .patch(
            "/v1/organization",
            Some(&s.admin.token),
            &json!({"country": "gb"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let org: Value = res.json().await.unwrap();
    assert_eq!(
        (
            org["country"].clone(),
            org["emergency_number_in_use"].clone()
        ),
        (json!("GB"), json!("999"))
    );
    let headache = s
        .report(json!({"timing": "daily_life", "severe_headache_or_visual_disturbance": true}))
        .await;
    assert_eq!(headache["triage"]["urgency"], "emergency");
    assert!(headache["triage"]["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("(999)"));
    let wound = s
        .report(json!({"timing": "daily_life", "wound_red_hot_or_discharging": true}))
        .await;
    assert_eq!(wound["triage"]["urgency"], "today");
    // The emergency flag comes first in her coach's inbox.
    let inbox = s.inbox().await;
    assert_eq!(inbox[0]["level"], "red_medical");
    assert_eq!(inbox[0]["urgency"], "emergency");
    assert_eq!(inbox.last().unwrap()["level"], "amber");
    // And goes out as its own webhook event at once, once per emergency report.
    let mut conn = s.app.conn().await;
    let events: Vec<EventRow> = diesel::sql_query(
        "SELECT event_type FROM webhook_events WHERE event_type = 'flag.emergency' ORDER BY id",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.event_type == "flag.emergency"));
    let bad = s
        .app
        .patch(
            "/v1/organization",
            Some(&s.admin.token),
            &json!({"emergency_number": "call 112"}),
        )
        .await;
    let problem = crate::helpers::assert_problem(bad, 422).await;
    assert_eq!(problem["errors"][0]["field"], "emergency_number");
}

/// Hazard H3: with auto_progress off a pain-6 run's regression waited for a coach.
#[tokio::test]
async fn safety_moves_apply_themselves_with_auto_progress_off() {
    let s = Scene::new(120, "jogging", Some(3)).await;
    s.session(0).await;
    let sore = s
        .report(json!({"timing": "during", "pain": [{"location": "knee", "nrs": 6}]}))
        .await;
    assert_eq!(sore["recommendation"]["decision"], "regress");
    let plan = s.plan().await;
    assert_eq!(plan["level"], 2, "the engine applied the drop itself");
    let latest = s.latest_transition().await;
    assert_eq!(latest["actor"]["type"], "engine");
    assert_eq!(latest["action"], "regress");
    assert!(latest["rule_ids"]
        .as_array()
        .unwrap()
        .contains(&json!("R6")));
}

/// Hazard H3: with a pelvic referral open at walking hills, today was the ordinary session.
#[tokio::test]
async fn an_open_red_flag_means_no_ordinary_session_today() {
    let s = Scene::new(60, "walking_hills", None).await;
    assert_eq!(s.today().await["kind"], "session");
    let bulge = s
        .report(json!({"timing": "daily_life", "bulge_seen_or_felt": true}))
        .await;
    assert_eq!(bulge["triage"]["urgency"], "soon");
    let today = s.today().await;
    assert_eq!(today["kind"], "paused", "{today}");
    let message = today["message"].as_str().unwrap();
    assert!(
        message.contains("no session from your plan")
            && message.contains("Your coach will contact you")
    );
    assert!(today["exercises"].as_array().unwrap().is_empty());
    let flag = s.inbox().await[0]["id"].as_str().unwrap().to_string();
    s.resolve(&flag).await;
    assert_eq!(s.today().await["kind"], "session");
}

/// Hazard H4: last week 8 running minutes, this week already 16: a third full run was
/// prescribed (cap 9).
#[tokio::test]
async fn a_run_never_takes_the_week_over_the_r4_cap() {
    let s = Scene::new(120, "jogging", Some(1)).await;
    s.session(-9).await;
    assert_eq!(s.today().await["kind"], "session");
    // This week 8 minutes: room for one more minute, so one repeat of the level's minute.
    s.session(-4).await;
    let today = s.today().await;
    assert_eq!(today["kind"], "session", "{today}");
    assert_eq!(today["run"]["repeats"], 1, "{today}");
    // This week 16 minutes: no room at all, a walk day.
    s.session(-2).await;
    let today = s.today().await;
    assert_eq!(today["kind"], "rest", "{today}");
    assert!(today["run"].is_null());
    assert!(today["message"].as_str().unwrap().contains("(R4)"));
}

/// Hazard H6: resolving a flag restarted the reports counted but not the sessions, so a resolve
/// could advance her at once.
#[tokio::test]
async fn resolving_a_flag_restarts_the_sessions_counted_too() {
    let s = Scene::new(60, "crawling", None).await;
    s.auto_progress().await;
    for offset in [-6, -4] {
        s.session(offset).await;
        s.report(json!({"timing": "immediately_after", "reported_on": day(offset)}))
            .await;
    }
    s.session(-2).await;
    let amber = s
        .report(json!({"timing": "immediately_after", "reported_on": day(-2), "abdominal_doming": true}))
        .await;
    assert_eq!(amber["triage"]["level"], "amber");
    let flag = amber["flag_id"].as_str().unwrap().to_string();
    s.resolve(&flag).await;
    let plan = s.plan().await;
    assert_eq!(plan["stage"], "crawling", "{plan}");
    assert_eq!(plan["recommendation"]["decision"], "hold");
    assert!(
        reason_with(&plan["recommendation"], "0 of 3 sessions done").is_some(),
        "{plan}"
    );
}

/// Hazard H7: knee pain 3/10 that settled was amber; pubic pain in daily life while
/// breastfeeding was green; spotting was green and a returned period stopped her plan.
#[tokio::test]
async fn triage_reads_the_pain_model_bone_stress_and_bleeding() {
    let s = Scene::new(120, "jogging", Some(2)).await;
    let knee = s
        .report(
            json!({"timing": "next_day", "pain": [{"location": "knee", "nrs": 3}],
            "pain_settled_by_next_morning": true}),
        )
        .await;
    assert_eq!(knee["triage"]["level"], "green");
    assert_eq!(knee["advisories"][0]["rule"], "advisory.pain_monitoring");
    let spotting = s
        .report(json!({"timing": "daily_life", "bleeding": "spotting"}))
        .await;
    assert_eq!(spotting["triage"]["level"], "amber");
    assert_eq!(spotting["triage"]["findings"][0]["rule"], "amber.spotting");
    let period = s
        .report(json!({"timing": "daily_life", "bleeding": "period"}))
        .await;
    assert_eq!(period["triage"]["level"], "green");
    assert_eq!(s.plan().await["status"], "active");
    // Breastfeeding: pubic pain in daily life is a bone-stress sign (R12).
    let res = s
        .app
        .patch(
            &format!("/v1/clients/{}", s.client),
            Some(&s.coach.token),
            &json!({"breastfeeding": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let pubic = s
        .report(json!({"timing": "daily_life", "pain": [{"location": "pubic", "nrs": 2}]}))
        .await;
    assert_eq!(pubic["triage"]["level"], "red_pelvic", "{pubic}");
    assert_eq!(
        pubic["triage"]["findings"][0]["rule"],
        "red_pelvic.bone_stress"
    );
    assert_eq!(pubic["recommendation"]["decision"], "refer");
    let plan = s.plan().await;
    assert_eq!(plan["stage"], "lunges", "no running while it is checked");
    let mut conn = s.app.conn().await;
    let n: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM flags WHERE level = 'red_pelvic' AND status = 'open'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(n.n, 1);
}

/// Hazard H5: a mother could record her own readiness tests as passed, and they opened jogging.
#[tokio::test]
async fn the_tests_that_open_jogging_count_only_when_staff_confirm_them() {
    let s = Scene::new(120, "lunges", None).await;
    s.auto_progress().await;
    // Her own login, to record her results herself.
    let res = s
        .app
        .patch(
            &format!("/v1/clients/{}", s.client),
            Some(&s.coach.token),
            &json!({"email": "ana@example.org"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = s
        .app
        .post(
            &format!("/v1/clients/{}/invitation", s.client),
            Some(&s.coach.token),
            &json!({}),
        )
        .await;
    let invitation: Value = res.json().await.unwrap();
    let pair: Value = s
        .app
        .post(
            "/v1/auth/invitations/accept",
            None,
            &json!({"token": invitation["token"], "password": "a long private passphrase"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let her = pair["access_token"].as_str().unwrap().to_string();
    let results = s.pass_lunge_tests_as(&her).await;
    assert!(results.iter().all(|r| r["awaiting_confirmation"] == true));
    let answer = s.two_green_sessions().await;
    assert_eq!(answer["recommendation"]["decision"], "hold", "{answer}");
    assert!(
        reason_with(
            &answer["recommendation"],
            "awaiting your coach's confirmation"
        )
        .is_some(),
        "{answer}"
    );
    // She cannot confirm her own; another practice cannot see them.
    let first = results[0]["id"].as_str().unwrap();
    let confirm = format!("/v1/clients/{}/readiness-tests/{first}/confirm", s.client);
    crate::helpers::assert_problem(s.app.post(&confirm, Some(&her), &json!({})).await, 403).await;
    let other_admin = s
        .app
        .new_admin("Hillside Physio", "admin@hillside.example")
        .await;
    crate::helpers::assert_problem(
        s.app
            .post(&confirm, Some(&other_admin.token), &json!({}))
            .await,
        404,
    )
    .await;
    // Her coach confirms each: the gate opens.
    for r in &results {
        let path = format!(
            "/v1/clients/{}/readiness-tests/{}/confirm",
            s.client,
            r["id"].as_str().unwrap()
        );
        let res = s.app.post(&path, Some(&s.coach.token), &json!({})).await;
        assert_eq!(res.status(), 200);
        let confirmed: Value = res.json().await.unwrap();
        assert_eq!(confirmed["awaiting_confirmation"], false);
        assert_eq!(confirmed["confirmed_by"], s.coach.user_id.to_string());
    }
    let plan = s.plan().await;
    assert_eq!(plan["stage"], "jogging", "{plan}");
    let events = s.app.audit_events(&s.admin.token, "?limit=200").await;
    let confirms = events
        .iter()
        .filter(|e| e["action"] == "readiness.confirm")
        .count();
    assert_eq!(confirms, results.len());
}

/// Hazard H5: after a pelvic referral sent her back to lunges, the old hop and bound results
/// still counted.
#[tokio::test]
async fn results_from_before_a_referral_stop_counting() {
    let s = Scene::new(120, "lunges", None).await;
    s.auto_progress().await;
    s.pass_lunge_tests().await;
    let answer = s.two_green_sessions().await;
    assert_eq!(answer["recommendation"]["decision"], "advance", "{answer}");
    assert_eq!(s.plan().await["stage"], "jogging");
    let leak = s
        .report(json!({"timing": "next_day", "urine_leak": "small", "leak_trigger": "impact"}))
        .await;
    assert_eq!(leak["recommendation"]["decision"], "refer");
    assert_eq!(s.plan().await["stage"], "lunges");
    let flag = leak["flag_id"].as_str().unwrap().to_string();
    s.resolve(&flag).await;
    let answer = s.two_green_sessions().await;
    assert_eq!(answer["recommendation"]["decision"], "hold", "{answer}");
    assert!(
        reason_with(&answer["recommendation"], "Readiness tests still to pass").is_some(),
        "{answer}"
    );
    s.pass_lunge_tests().await;
    assert_eq!(s.plan().await["stage"], "jogging");
}

/// Hazard H8: a third- or fourth-degree tear changed nothing, and an individual jogging date
/// before day 84 needed only a free-text `agreed_by`.
#[tokio::test]
async fn a_grade_4_tear_holds_impact_until_a_pelvic_health_assessment_clears_it() {
    let s = Scene::new(70, "walking_hills", None).await;
    let res = s
        .app
        .patch(
            &format!("/v1/clients/{}", s.client),
            Some(&s.coach.token),
            &json!({"perineal_tear_grade": 4}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let advance = json!({"action": "advance", "reason": "Tests passed.", "override_gate": true});
    let problem = crate::helpers::assert_problem(s.transition(advance.clone()).await, 409).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("R1:") && detail.contains("fourth-degree tear"),
        "{detail}"
    );
    let assessments = format!("/v1/clients/{}/assessments", s.client);
    // Bad values are named; a postnatal check does not lift the hold.
    let bad = s
        .app
        .post(
            &assessments,
            Some(&s.coach.token),
            &json!({"clinician": "Dr Shah", "modified_oxford": 6}),
        )
        .await;
    let problem = crate::helpers::assert_problem(bad, 422).await;
    assert_eq!(problem["errors"][0]["field"], "modified_oxford");
    let check = s
        .app
        .post(
            &assessments,
            Some(&s.coach.token),
            &json!({"kind": "postnatal_check", "clinician": "Dr Shah, GP", "impact_cleared": true}),
        )
        .await;
    assert_eq!(check.status(), 201);
    assert_eq!(check.json::<Value>().await.unwrap()["clears_impact"], false);
    crate::helpers::assert_problem(s.transition(advance.clone()).await, 409).await;
    // Jogging before day 84 must cite a pelvic-health assessment that cleared impact.
    let gate = format!("/v1/clients/{}/plan/jogging-gate", s.client);
    let early = json!({"on": day(-70 + 77), "reason": "Strong on assessment.",
        "agreed_by": "Sam Reid, pelvic-health physiotherapist"});
    let res = s
        .app
        .request(
            reqwest::Method::PUT,
            &gate,
            Some(&s.coach.token),
            Some(&early),
        )
        .await;
    let problem = crate::helpers::assert_problem(res, 422).await;
    assert_eq!(problem["errors"][0]["field"], "assessment_id");
    let physio: Value = s
        .app
        .post(
            &assessments,
            Some(&s.coach.token),
            &json!({"kind": "pelvic_health", "clinician": "Sam Reid, pelvic-health physiotherapist",
                "modified_oxford": 4, "inter_recti_distance_mm": 18, "perineum_healed": true,
                "impact_cleared": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(physio["clears_impact"], true);
    let res = s.transition(advance).await;
    assert_eq!(res.status(), 201, "the hold is lifted");
    let mut cited = early.clone();
    cited["assessment_id"] = physio["id"].clone();
    let res = s
        .app
        .request(
            reqwest::Method::PUT,
            &gate,
            Some(&s.coach.token),
            Some(&cited),
        )
        .await;
    assert_eq!(res.status(), 200);
    let plan: Value = res.json().await.unwrap();
    assert_eq!(plan["jogging_gate"]["assessment_id"], physio["id"]);
    // Listed, exported, in FHIR and in the feed; audited without clinical values.
    let page = s.read(&assessments).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let export = s.read(&format!("/v1/clients/{}/export", s.client)).await;
    assert_eq!(export["assessments"].as_array().unwrap().len(), 2);
    let fhir = s.read(&format!("/v1/clients/{}/fhir", s.client)).await;
    let exams = fhir["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["category"][0]["coding"][0]["code"] == "exam")
        .count();
    assert_eq!(exams, 2);
    let feed = s.read("/v1/sync?limit=200").await;
    let in_feed = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["entity"] == "assessment")
        .count();
    assert_eq!(in_feed, 2);
    let events = s.app.audit_events(&s.admin.token, "?limit=200").await;
    let recorded: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "assessment.record")
        .collect();
    assert_eq!(recorded.len(), 2);
    assert!(recorded
        .iter()
        .all(|e| e["changes"].get("modified_oxford").is_none()
            && e["changes"].get("clinician").is_none()));
    // Another practice cannot see them.
    let other = s
        .app
        .new_admin("Hillside Physio", "admin@hillside.example")
        .await;
    crate::helpers::assert_problem(s.app.get(&assessments, Some(&other.token)).await, 404).await;
}

/// Hazard H3: a safety recommendation that nobody applied (a plan recommended before safety
/// moves applied themselves) used to leave today at the old level.
#[tokio::test]
async fn an_unapplied_regression_is_what_today_prescribes() {
    let s = Scene::new(120, "jogging", Some(4)).await;
    assert_eq!(s.today().await["run"]["level"], 4);
    let mut conn = s.app.conn().await;
    diesel::sql_query(
        "UPDATE plans SET recommendation = '{\"decision\": \"regress\", \"target_stage\": \"jogging\",
            \"target_level\": 3, \"completes_plan\": false, \"reasons\": []}'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let today = s.today().await;
    assert_eq!(today["run"]["level"], 3, "{today}");
    assert!(today["message"]
        .as_str()
        .unwrap()
        .contains("moved you back for now"));
    assert_eq!(
        s.plan().await["level"],
        4,
        "the plan itself waits for a coach"
    );
}

/// Today agrees with the plan a coach chose: after the engine dropped her a level (its
/// recommendation says so), her coach moves her back up; today is the coach's level, not the
/// engine's stale target.
#[tokio::test]
async fn a_coachs_move_after_a_regression_is_what_today_prescribes() {
    let s = Scene::new(120, "jogging", Some(3)).await;
    s.session(0).await;
    s.report(json!({"timing": "during", "pain": [{"location": "knee", "nrs": 6}]}))
        .await;
    assert_eq!(s.plan().await["level"], 2);
    assert_eq!(s.today().await["run"]["level"], 2);
    let res = s
        .transition(json!({"action": "set", "stage": "jogging", "level": 3,
            "reason": "Seen in clinic: the knee settled; back to level 3."}))
        .await;
    assert_eq!(res.status(), 201);
    let today = s.today().await;
    assert_eq!(today["run"]["level"], 3, "{today}");
    assert!(!today["message"]
        .as_str()
        .unwrap()
        .contains("moved you back"));
}

/// Hazards H3 and H4, end to end: today agrees with the engine's recommendation. Past the
/// week's cap the engine holds her (R4) and today is a walk day; with a red flag open the
/// engine does not move her on and today is paused.
#[tokio::test]
async fn today_agrees_with_the_recommendation_past_the_cap_and_with_a_red_flag() {
    let s = Scene::new(120, "jogging", Some(1)).await;
    for offset in [-9, -4, -2] {
        s.session(offset).await;
    }
    s.report(json!({"timing": "next_day", "reported_on": day(-1)}))
        .await;
    let recommendation = s.plan().await["recommendation"].clone();
    assert_eq!(recommendation["decision"], "hold", "{recommendation}");
    assert!(
        rules(&recommendation).contains(&"R4".to_string()),
        "{recommendation}"
    );
    let today = s.today().await;
    assert_eq!(today["kind"], "rest", "{today}");
    assert!(today["run"].is_null());

    s.report(json!({"timing": "daily_life", "bulge_seen_or_felt": true}))
        .await;
    let recommendation = s.plan().await["recommendation"].clone();
    assert_ne!(recommendation["decision"], "advance", "{recommendation}");
    let today = s.today().await;
    assert_eq!(today["kind"], "paused", "{today}");
    assert!(today["run"].is_null() && today["exercises"].as_array().unwrap().is_empty());
}
