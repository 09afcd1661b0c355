//! Clinical scenarios a coach would recognise: symptom reports, their triage, what the engine
//! then does to the plan, and the flags in the coach's inbox.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, Caller, TestApp};

pub(crate) fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

pub(crate) struct Scene {
    pub(crate) app: TestApp,
    pub(crate) admin: Caller,
    pub(crate) coach: Caller,
    pub(crate) client: String,
}

/// The actions of the organization's latest `n` audit events, newest first, as its admin reads them.
async fn trail(app: &TestApp, admin: &Caller, n: usize) -> Vec<String> {
    let page: Value = app
        .get(&format!("/v1/audit-events?limit={n}"), Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

impl Scene {
    /// A client `days` postpartum, cleared, with the default program set at `stage`/`level`.
    pub(crate) async fn new(days: i64, stage: &str, level: Option<u32>) -> Self {
        let app = spawn_app().await;
        let admin = app
            .new_admin("Riverside Physio", "admin@riverside.example")
            .await;
        let coach = app
            .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
            .await;
        let client = app
            .create_client(
                &coach,
                &json!({"name": "Ana Lima", "delivery_date": day(-days),
                "delivery_type": "vaginal", "cleared_for_exercise": true}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let programs: Value = app
            .get("/v1/programs", Some(&coach.token))
            .await
            .json()
            .await
            .unwrap();
        let res = app
            .post(
                &format!("/v1/clients/{client}/plan"),
                Some(&coach.token),
                &json!({"program_id": programs["items"][0]["id"]}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let scene = Self {
            app,
            admin,
            coach,
            client,
        };
        if stage != "crawling" {
            let res = scene
                .transition(json!({"action": "set", "stage": stage, "level": level, "reason": "Starting point.", "override_gate": true}))
                .await;
            assert_eq!(res.status(), 201);
        }
        scene
    }

    pub(crate) async fn transition(&self, body: Value) -> reqwest::Response {
        self.app
            .post(
                &format!("/v1/clients/{}/plan/transitions", self.client),
                Some(&self.coach.token),
                &body,
            )
            .await
    }

    pub(crate) async fn session(&self, offset: i64) {
        let res = self
            .app
            .post(
                &format!("/v1/clients/{}/sessions", self.client),
                Some(&self.coach.token),
                &json!({"performed_on": day(offset), "completed": true}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }

    pub(crate) async fn report(&self, body: Value) -> Value {
        let res = self
            .app
            .post(
                &format!("/v1/clients/{}/symptom-reports", self.client),
                Some(&self.coach.token),
                &body,
            )
            .await;
        assert_eq!(res.status(), 201, "{body}");
        res.json().await.unwrap()
    }

    pub(crate) async fn plan(&self) -> Value {
        self.app
            .get(
                &format!("/v1/clients/{}/plan", self.client),
                Some(&self.coach.token),
            )
            .await
            .json()
            .await
            .unwrap()
    }

    /// `path` read as her coach, as JSON.
    pub(crate) async fn read(&self, path: &str) -> Value {
        self.app
            .get(path, Some(&self.coach.token))
            .await
            .json()
            .await
            .unwrap()
    }

    /// Her plan's newest transition.
    pub(crate) async fn latest_transition(&self) -> Value {
        let path = format!("/v1/clients/{}/plan/transitions", self.client);
        self.read(&path).await["items"][0].clone()
    }

    pub(crate) async fn inbox(&self) -> Vec<Value> {
        let page: Value = self
            .app
            .get("/v1/flags", Some(&self.coach.token))
            .await
            .json()
            .await
            .unwrap();
        page["items"].as_array().unwrap().clone()
    }

    pub(crate) async fn auto_progress(&self) {
        let res = self
            .app
            .patch(
                "/v1/organization",
                Some(&self.admin.token),
                &json!({"auto_progress": true}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
}

pub(crate) fn rules(recommendation: &Value) -> Vec<String> {
    recommendation["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn two_green_runs_with_green_next_day_reports_advance_one_level_but_not_without_one() {
    let s = Scene::new(120, "jogging", Some(3)).await;
    s.session(-3).await;
    s.report(json!({"timing": "next_day", "reported_on": day(-2)}))
        .await;
    s.session(-1).await;
    // The second run has no next-day report yet: hold.
    let plan = s.plan().await;
    assert_eq!(plan["recommendation"]["decision"], "hold");
    assert!(plan["recommendation"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["message"].as_str().unwrap().contains("next-day")));
    let answer = s
        .report(json!({"timing": "next_day", "reported_on": day(0)}))
        .await;
    assert_eq!(answer["triage"]["level"], "green");
    assert_eq!(answer["recommendation"]["decision"], "advance");
    assert_eq!(answer["recommendation"]["target_level"], 4);
    assert_eq!(
        trail(&s.app, &s.admin, 2).await,
        ["plan.recommend", "symptom_report.create"]
    );
    // Without auto_progress the coach applies it.
    let plan = s.plan().await;
    assert_eq!(plan["level"], 3);
    assert_eq!(plan["recommendation"], answer["recommendation"]);
    let res = s
        .transition(json!({"action": "advance", "reason": "As recommended."}))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["plan"]["level"], 4);
}

#[tokio::test]
async fn with_auto_progress_the_engine_moves_the_plan_itself() {
    let s = Scene::new(120, "jogging", Some(3)).await;
    s.auto_progress().await;
    s.session(-3).await;
    s.report(json!({"timing": "next_day", "reported_on": day(-2)}))
        .await;
    s.session(-1).await;
    s.report(json!({"timing": "next_day", "reported_on": day(0)}))
        .await;
    let plan = s.plan().await;
    assert_eq!(plan["level"], 4);
    let latest = s.latest_transition().await;
    assert_eq!(latest["actor"]["type"], "engine");
    assert_eq!(latest["action"], "advance");
    assert!(latest["rule_ids"]
        .as_array()
        .unwrap()
        .contains(&json!("R2")));
}

#[tokio::test]
async fn a_leak_during_a_run_is_amber_and_holds_the_next_morning_it_refers_back_to_lunges() {
    let s = Scene::new(120, "jogging", Some(5)).await;
    s.session(-1).await;
    let during = s
        .report(json!({"timing": "during", "urine_leak": "drops", "leak_trigger": "impact"}))
        .await;
    assert_eq!(during["triage"]["level"], "amber");
    assert_eq!(
        during["triage"]["findings"][0]["rule"],
        "amber.pelvic_symptom_during_activity"
    );
    assert_eq!(during["recommendation"]["decision"], "hold");
    assert!(
        rules(&during["recommendation"]).contains(&"R5".to_string()),
        "walk the rest of the run"
    );
    assert_eq!(s.plan().await["stage"], "jogging");

    let next_morning = s
        .report(
            json!({"timing": "next_day", "urine_leak": "small", "leak_trigger": "cough_sneeze"}),
        )
        .await;
    assert_eq!(next_morning["triage"]["level"], "red_pelvic");
    assert_eq!(next_morning["recommendation"]["decision"], "refer");
    let plan = s.plan().await;
    assert_eq!(
        plan["stage"], "lunges",
        "red_pelvic moves a jogging plan back at once"
    );
    assert_eq!(plan["level"], Value::Null);
    let history: Value = s
        .app
        .get(
            &format!("/v1/clients/{}/plan/transitions", s.client),
            Some(&s.coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["items"][0]["actor"]["type"], "engine");
    assert_eq!(history["items"][0]["rule_ids"], json!(["R8"]));

    let inbox = s.inbox().await;
    assert_eq!(inbox[0]["level"], "red_pelvic", "most urgent first");
    assert_eq!(inbox[0]["client"]["name"], "Ana Lima");
    assert_eq!(inbox[0]["client"]["stage"], "lunges");
    assert_eq!(inbox[0]["report"]["timing"], "next_day");
    assert_eq!(inbox[1]["level"], "amber");

    // No jogging while the red flag is open, even for the coach; resolved, the gate opens.
    let flag = inbox[0]["id"].as_str().unwrap().to_string();
    let problem = assert_problem(
        s.transition(json!({"action": "advance", "reason": "Feels fine."}))
            .await,
        409,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("red flag"),
        "{problem}"
    );
    let res = s
        .app
        .post(
            &format!("/v1/flags/{flag}/resolve"),
            Some(&s.coach.token),
            &json!({"note": "Seen by the physio; cleared."}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let resolved: Value = res.json().await.unwrap();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolved_by"], s.coach.user_id.to_string());
    assert_problem(
        s.app
            .post(
                &format!("/v1/flags/{flag}/resolve"),
                Some(&s.coach.token),
                &json!({"note": "again"}),
            )
            .await,
        409,
    )
    .await;
    assert_eq!(
        s.transition(json!({"action": "advance", "reason": "Physio cleared."}))
            .await
            .status(),
        201
    );
    let resolved: Value = s
        .app
        .get("/v1/flags?status=resolved", Some(&s.coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        resolved["items"][0]["resolution_note"],
        "Seen by the physio; cleared."
    );
}

#[tokio::test]
async fn chest_pain_pauses_the_plan_and_opens_an_urgent_flag_and_a_second_red_report_joins_it() {
    let s = Scene::new(120, "jogging", Some(2)).await;
    let answer = s
        .report(json!({"timing": "daily_life", "chest_pain": true}))
        .await;
    assert_eq!(answer["triage"]["level"], "red_medical");
    assert_eq!(answer["recommendation"]["decision"], "stop");
    assert_eq!(rules(&answer["recommendation"])[0], "R9");
    // The trail tells it in the order it happened (newest first).
    assert_eq!(
        trail(&s.app, &s.admin, 4).await,
        [
            "plan.recommend",
            "plan.transition",
            "flag.open",
            "symptom_report.create"
        ]
    );
    let plan = s.plan().await;
    assert_eq!(plan["recommendation"], answer["recommendation"]);
    assert_eq!(plan["status"], "paused");
    assert_eq!(plan["next_session"]["kind"], "paused");
    let again = s
        .report(json!({"timing": "daily_life", "dizziness_or_fainting": true}))
        .await;
    assert_eq!(again["flag_id"], answer["flag_id"], "no twin flag");
    let inbox = s.inbox().await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["level"], "red_medical");
    assert_eq!(inbox[0]["report_count"], 2);
    let list: Value = s
        .app
        .get("/v1/clients?flag=red_medical", Some(&s.coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["open_flags"]["red_medical"], 1);
    assert_eq!(list["items"][0]["last_report"]["triage"], "red_medical");
    let problem = assert_problem(
        s.transition(json!({"action": "resume", "reason": "Feels better."}))
            .await,
        409,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("R9"),
        "{problem}"
    );
    let flag = inbox[0]["id"].as_str().unwrap();
    let res = s
        .app
        .post(
            &format!("/v1/flags/{flag}/resolve"),
            Some(&s.coach.token),
            &json!({"note": "GP: reflux, not cardiac. Cleared."}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_ne!(
        s.plan().await["recommendation"]["decision"],
        "stop",
        "the resolved flag no longer stops her"
    );
    assert_eq!(
        s.transition(json!({"action": "resume", "reason": "Cleared by her GP."}))
            .await
            .status(),
        201
    );
    let none: Value = s
        .app
        .get("/v1/clients?flag=amber", Some(&s.coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn pain_of_6_regresses_a_level_and_pain_of_2_is_green() {
    let s = Scene::new(120, "jogging", Some(4)).await;
    s.auto_progress().await;
    let fine = s
        .report(json!({"timing": "immediately_after", "pain": [{"location": "knee", "nrs": 2}]}))
        .await;
    assert_eq!(fine["triage"]["level"], "green");
    let sore = s.report(json!({"timing": "immediately_after", "pain": [{"location": "knee", "nrs": 6}], "pain_settled_by_next_morning": true})).await;
    assert_eq!(sore["triage"]["level"], "amber");
    assert_eq!(sore["recommendation"]["decision"], "regress");
    assert_eq!(s.plan().await["level"], 3);
}

#[tokio::test]
async fn at_day_70_every_lunge_test_passed_still_holds_until_day_84() {
    let s = Scene::new(70, "lunges", None).await;
    for test in ["jog_on_the_spot", "forward_bounds"] {
        let target = if test == "jog_on_the_spot" { 60 } else { 10 };
        let res = s
            .app
            .post(
                &format!("/v1/clients/{}/readiness-tests", s.client),
                Some(&s.coach.token),
                &json!({"test": test, "reached": target, "side": "both", "symptom_free": true}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    for (test, reps) in [
        ("hop_in_place", 10),
        ("running_man", 10),
        ("single_leg_calf_raise", 20),
        ("single_leg_bridge", 20),
        ("single_leg_sit_to_stand", 20),
        ("side_lying_abduction", 20),
    ] {
        for side in ["left", "right"] {
            let res = s
                .app
                .post(
                    &format!("/v1/clients/{}/readiness-tests", s.client),
                    Some(&s.coach.token),
                    &json!({"test": test, "reached": reps, "side": side, "symptom_free": true}),
                )
                .await;
            assert_eq!(res.status(), 201);
        }
    }
    s.session(-2).await;
    s.report(json!({"timing": "immediately_after", "reported_on": day(-2)}))
        .await;
    s.session(-1).await;
    let plan = s.plan().await;
    assert_eq!(plan["recommendation"]["decision"], "hold");
    assert!(
        rules(&plan["recommendation"]).contains(&"R1".to_string()),
        "{plan}"
    );
    // Day 84 comes (the birth date, corrected): the engine recommends jogging.
    let res = s
        .app
        .patch(
            &format!("/v1/clients/{}", s.client),
            Some(&s.coach.token),
            &json!({"delivery_date": day(-84)}),
        )
        .await;
    assert_eq!(res.status(), 200);
    s.report(json!({"timing": "immediately_after"})).await;
    let plan = s.plan().await;
    assert_eq!(plan["recommendation"]["decision"], "advance", "{plan}");
    assert_eq!(plan["recommendation"]["target_stage"], "jogging");
    assert_eq!(plan["recommendation"]["target_level"], 1);
}

#[tokio::test]
async fn reports_are_validated_retry_safe_and_readable() {
    let s = Scene::new(120, "walking_hills", None).await;
    for (body, field) in [
        (
            json!({"timing": "during", "pain": [{"location": "knee", "nrs": 11}]}),
            "pain[0].nrs",
        ),
        (
            json!({"timing": "during", "pain": [{"location": "elbow", "nrs": 1}]}),
            "pain[0].location",
        ),
        (json!({"timing": "sometime"}), "timing"),
        (json!({}), "timing"),
        (
            json!({"timing": "during", "pelvic_heaviness": 12}),
            "pelvic_heaviness",
        ),
        (
            json!({"timing": "during", "sleep_hours": 25}),
            "sleep_hours",
        ),
        (
            json!({"timing": "during", "urine_leak": "buckets"}),
            "urine_leak",
        ),
        (
            json!({"timing": "during", "leak_trigger": "impact"}),
            "leak_trigger",
        ),
        (json!({"timing": "during", "triage": "green"}), "triage"),
        (
            json!({"timing": "during", "session_id": uuid::Uuid::now_v7()}),
            "session_id",
        ),
    ] {
        let problem = assert_problem(
            s.app
                .post(
                    &format!("/v1/clients/{}/symptom-reports", s.client),
                    Some(&s.coach.token),
                    &body,
                )
                .await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    let id = uuid::Uuid::now_v7();
    let body = json!({"id": id, "timing": "daily_life", "sleep_hours": 5, "fatigue": 9});
    let first = s.report(body.clone()).await;
    assert_eq!(first["triage"]["level"], "green");
    assert_eq!(first["advisories"].as_array().unwrap().len(), 2);
    let retry = s
        .app
        .post(
            &format!("/v1/clients/{}/symptom-reports", s.client),
            Some(&s.coach.token),
            &body,
        )
        .await;
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    let other = json!({"id": id, "timing": "daily_life"});
    assert_problem(
        s.app
            .post(
                &format!("/v1/clients/{}/symptom-reports", s.client),
                Some(&s.coach.token),
                &other,
            )
            .await,
        409,
    )
    .await;
    let one: Value = s
        .app
        .get(
            &format!("/v1/clients/{}/symptom-reports/{id}", s.client),
            Some(&s.coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["symptoms"]["fatigue"], 9);
    let amber = s
        .report(json!({"timing": "during", "abdominal_doming": true}))
        .await;
    let list: Value = s
        .app
        .get(
            &format!("/v1/clients/{}/symptom-reports?triage=amber", s.client),
            Some(&s.coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], amber["id"]);
    let timeline: Value = s
        .app
        .get(
            &format!("/v1/clients/{}/timeline", s.client),
            Some(&s.coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"report") && kinds.contains(&"transition"),
        "{kinds:?}"
    );
    assert_problem(
        s.app
            .request(
                Method::GET,
                &format!(
                    "/v1/clients/{}/timeline?since={}&until={}",
                    s.client,
                    day(0),
                    day(-5)
                ),
                Some(&s.coach.token),
                None,
            )
            .await,
        422,
    )
    .await;
}

#[tokio::test]
async fn a_red_report_racing_a_coach_transition_loses_neither() {
    for round in 0..4 {
        let s = Scene::new(120, "lunges", None).await;
        let advance =
            json!({"action": "advance", "reason": format!("race {round}"), "override_gate": true});
        let red = json!({"timing": "daily_life", "chest_pain": true});
        let path = format!("/v1/clients/{}/symptom-reports", s.client);
        let (moved, reported) = tokio::join!(
            s.transition(advance),
            s.app.post(&path, Some(&s.coach.token), &red)
        );
        assert_eq!(reported.status(), 201, "the report is always taken");
        let moved = moved.status().as_u16();
        // Either order is fine: advanced then paused, or paused and the advance refused.
        assert!(moved == 201 || moved == 409, "transition answered {moved}");
        let plan = s.plan().await;
        assert_eq!(
            plan["status"], "paused",
            "the red report's pause survives (round {round})"
        );
        let history: Value = s
            .app
            .get(
                &format!("/v1/clients/{}/plan/transitions", s.client),
                Some(&s.coach.token),
            )
            .await
            .json()
            .await
            .unwrap();
        let items = history["items"].as_array().unwrap();
        let coach_moves = items
            .iter()
            .filter(|t| t["reason"] == format!("race {round}"))
            .count();
        assert_eq!(
            coach_moves,
            usize::from(moved == 201),
            "an acknowledged move is in the history"
        );
        // The plan is where its newest transition left it.
        let newest = &items[0];
        assert_eq!(plan["stage"], newest["to"]["stage"], "{history}");
        assert_eq!(plan["level"], newest["to"]["level"], "{history}");
        assert_eq!(plan["status"], newest["to"]["status"], "{history}");
        assert_eq!(s.inbox().await.len(), 1, "one urgent flag");
    }
}

#[tokio::test]
async fn without_a_live_plan_a_report_is_triaged_and_flagged_but_nothing_is_recommended() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let before = trail(&app, &admin, 10).await;

    let res = app
        .post(
            "/v1/clients/me/symptom-reports",
            Some(&ana.token),
            &json!({"timing": "daily_life", "chest_pain": true}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let red: Value = res.json().await.unwrap();
    assert_eq!(red["triage"]["level"], "red_medical");
    assert_eq!(red["recommendation"], Value::Null);
    assert_eq!(red["plan_id"], Value::Null);
    assert!(red["flag_id"].is_string(), "{red}");
    // The report, then its flag; no plan to recommend for.
    assert_eq!(
        trail(&app, &admin, 10).await[..2],
        ["flag.open", "symptom_report.create"]
    );

    let res = app
        .post(
            "/v1/clients/me/symptom-reports",
            Some(&ana.token),
            &json!({"timing": "daily_life", "sleep_hours": 7.5}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let green: Value = res.json().await.unwrap();
    assert_eq!(green["triage"]["level"], "green");
    assert_eq!(green["recommendation"], Value::Null);
    assert_eq!(green["flag_id"], Value::Null);
    let after = trail(&app, &admin, 10).await;
    assert_eq!(after[0], "symptom_report.create");
    assert_eq!(after.len(), (before.len() + 3).min(10), "{after:?}");

    let flags: Value = app
        .get("/v1/flags", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(flags["items"][0]["level"], "red_medical");
    assert_eq!(flags["items"][0]["report"]["id"], red["id"]);
}

#[tokio::test]
async fn the_order_of_reports_is_the_order_they_arrived_not_of_their_ids() {
    let scene = Scene::new(100, "jogging", Some(1)).await;
    // A leak right after a run, sent with an id that sorts after every other id.
    let first = scene
        .report(json!({"id": "ffffffff-ffff-7fff-bfff-ffffffffffff",
            "timing": "immediately_after", "urine_leak": "drops"}))
        .await;
    assert_eq!(first["triage"]["level"], "amber");
    for _ in 0..2 {
        let green = scene.report(json!({"timing": "next_day"})).await;
        assert_eq!(green["triage"]["level"], "green");
    }
    // Another leak: her last three reports (this and the two green ones before it) hold one
    // pelvic symptom, so it is amber. Ordered by id, the first report would count as one of
    // the last three and make it red_pelvic.
    let latest = scene
        .report(json!({"timing": "immediately_after", "urine_leak": "drops"}))
        .await;
    assert_eq!(latest["triage"]["level"], "amber", "{latest}");
}
