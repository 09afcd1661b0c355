//! Recovery check-ins: R11 end to end, the mood screen's answer and who may see it, advisories,
//! retries, bad input, and the change feed.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, spawn_app, Caller, TestApp};

fn days_ago(n: i64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(n)).to_string()
}

async fn check_in(app: &TestApp, caller: &Caller, client: &str, body: Value) -> Value {
    let res = app
        .post(
            &format!("/v1/clients/{client}/check-ins"),
            Some(&caller.token),
            &body,
        )
        .await;
    let status = res.status();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{answer}");
    answer
}

async fn people(app: &TestApp) -> (Caller, Caller, Caller, String) {
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let id = ana.client_id.unwrap().to_string();
    (admin, coach, ana, id)
}

#[tokio::test]
async fn short_sleep_holds_her_advance_until_she_is_rested_and_the_trace_says_why() {
    let app = spawn_app().await;
    let (_, coach, ana, id) = people(&app).await;
    app.start_default_plan(&coach, &id).await;
    for day in [5, 4, 3] {
        // SPEC §1.8: a session counts toward moving her on only with a green report about it.
        let res = app
            .post(
                "/v1/clients/me/symptom-reports",
                Some(&ana.token),
                &json!({"timing": "immediately_after", "reported_on": days_ago(day)}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let res = app
            .post(
                "/v1/clients/me/sessions",
                Some(&ana.token),
                &json!({"performed_on": days_ago(day), "completed": true}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let plan: Value = app
        .get("/v1/clients/me/plan", Some(&ana.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plan["recommendation"]["decision"], "advance");

    let first = check_in(
        &app,
        &ana,
        "me",
        json!({"checked_on": days_ago(1), "sleep_hours": 4.5, "fatigue": 6}),
    )
    .await;
    let second = check_in(&app, &ana, "me", json!({"sleep_hours": 5.5, "fatigue": 5})).await;
    assert_eq!(second["recommendation"]["decision"], "hold");
    let reasons = &second["recommendation"]["reasons"];
    assert_eq!(reasons[0]["rule"], "R11", "{reasons}");
    assert!(
        reasons[0]["message"].as_str().unwrap().contains("5 hours"),
        "{reasons}"
    );
    // Never a step back: the plan is where it was.
    let plan: Value = app
        .get("/v1/clients/me/plan", Some(&ana.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plan["stage"], "crawling");

    let why: Value = app
        .get(
            &format!("/v1/clients/{id}/plan/recommendation"),
            Some(&coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        why["cause"],
        json!({"kind": "check_in", "id": second["id"]})
    );
    let r11 = why["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "R11")
        .unwrap();
    assert_eq!(
        (r11["outcome"].as_str(), r11["decided"].as_bool()),
        (Some("hold"), Some(true))
    );
    assert_eq!(
        r11["inputs"]["check_in_ids"],
        json!([first["id"], second["id"]])
    );
    assert_eq!(r11["inputs"]["average_sleep_hours"], json!(5.0));

    // A corrected answer for today replaces today's in the week: rested, she may move on.
    let rested = check_in(&app, &ana, "me", json!({"sleep_hours": 8.5, "fatigue": 3})).await;
    assert_eq!(rested["recommendation"]["decision"], "advance", "{rested}");

    // In her timeline, without her mood.
    let timeline: Value = app
        .get("/v1/clients/me/timeline", Some(&ana.token))
        .await
        .json()
        .await
        .unwrap();
    let entries: Vec<&Value> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "check_in")
        .collect();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["sleep_hours"], 4.5);
}

#[tokio::test]
async fn a_low_mood_gets_a_kind_word_and_only_she_and_her_coach_see_her_answers() {
    let app = spawn_app().await;
    let (admin, coach, ana, id) = people(&app).await;
    // The practice's systems listen to everything (nothing answers at this address).
    let res = app
        .post(
            "/v1/webhooks",
            Some(&admin.token),
            &json!({"url": "http://127.0.0.1:9/hooks",
            "events": ["flag.opened", "flag.resolved", "check_in.created", "plan.transitioned"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body = json!({"id": Uuid::now_v7(), "sleep_hours": 7.0, "fatigue": 4,
        "mood_screen": {"little_interest": 2, "feeling_down": 1}});
    let first = check_in(&app, &ana, "me", body.clone()).await;
    assert_eq!(
        first["mood_screen"],
        json!({"little_interest": 2, "feeling_down": 1, "score": 3})
    );
    assert!(first["support"]
        .as_str()
        .unwrap()
        .contains("GP, midwife or health visitor"));
    assert_eq!(first["recommendation"], Value::Null, "no plan yet");
    // The retry gets the first answer; the same id with another body is refused.
    let res = app
        .post("/v1/clients/me/check-ins", Some(&ana.token), &body)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), first);
    let mut changed = body.clone();
    changed["fatigue"] = json!(5);
    let res = app
        .post("/v1/clients/me/check-ins", Some(&ana.token), &changed)
        .await;
    assert!(
        res.status() == 409 || res.status() == 422,
        "{}",
        res.status()
    );
    // A calm screen gets no message.
    let calm = check_in(
        &app,
        &ana,
        "me",
        json!({"sleep_hours": 7.0, "fatigue": 4,
        "mood_screen": {"little_interest": 1, "feeling_down": 1}}),
    )
    .await;
    assert_eq!(calm["support"], Value::Null);

    let list = |token: String| {
        let app = &app;
        let id = id.clone();
        async move {
            let res = app
                .get(&format!("/v1/clients/{id}/check-ins"), Some(&token))
                .await;
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let seen_by_coach = list(coach.token.clone()).await;
    assert_eq!(seen_by_coach["items"][0]["mood_screen"]["score"], 3);
    let seen_by_admin = list(admin.token.clone()).await;
    assert_eq!(seen_by_admin["items"].as_array().unwrap().len(), 2);
    assert_eq!(seen_by_admin["items"][0]["mood_screen"], Value::Null);
    assert_eq!(seen_by_admin["items"][0]["sleep_hours"], 7.0);
    // Her change feed carries her answers; the practice's does not.
    let feed: Value = app
        .get("/v1/sync", Some(&ana.token))
        .await
        .json()
        .await
        .unwrap();
    let mine: Vec<&Value> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["entity"] == "check_in")
        .collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0]["data"]["mood_screen"]["score"], 3);
    let feed: Value = app
        .get("/v1/sync", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    let practice: Vec<&Value> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["entity"] == "check_in")
        .collect();
    assert_eq!(practice.len(), 2);
    assert_eq!(practice[0]["data"]["mood_screen"], Value::Null);

    // Her coach's inbox holds a `mood` flag with its note; the practice's does not.
    let inbox: Value = app
        .get("/v1/flags", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    let flags = inbox["items"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{inbox}");
    assert_eq!(flags[0]["level"], "mood");
    assert_eq!(flags[0]["check_in_id"], first["id"]);
    assert_eq!(flags[0]["report_id"], Value::Null);
    assert!(flags[0]["note"]
        .as_str()
        .unwrap()
        .contains("GP, midwife or health visitor"));
    let flag_id = flags[0]["id"].as_str().unwrap().to_string();
    let inbox: Value = app
        .get("/v1/flags?level=mood", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["items"], json!([]));
    assert_problem(
        app.post(
            &format!("/v1/flags/{flag_id}/resolve"),
            Some(&admin.token),
            &json!({"note": "Seen."}),
        )
        .await,
        404,
    )
    .await;
    // The export and the FHIR bundle follow the same rule.
    let export: Value = app
        .get(&format!("/v1/clients/{id}/export"), Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["check_ins"][0]["mood_screen"]["score"], 3);
    assert_eq!(export["flags"].as_array().unwrap().len(), 1);
    let export: Value = app
        .get(&format!("/v1/clients/{id}/export"), Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["check_ins"][0]["mood_screen"], Value::Null);
    assert_eq!(export["flags"], json!([]));
    let fhir = app
        .get(&format!("/v1/clients/{id}/fhir"), Some(&coach.token))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        fhir.contains("55758-7") && fhir.contains("93832-4"),
        "{fhir}"
    );
    let fhir = app
        .get(&format!("/v1/clients/{id}/fhir"), Some(&admin.token))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !fhir.contains("55758-7") && fhir.contains("93832-4"),
        "{fhir}"
    );
    // Her coach resolves it.
    let res = app
        .post(
            &format!("/v1/flags/{flag_id}/resolve"),
            Some(&coach.token),
            &json!({"note": "Talked; she will see her GP."}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // Webhooks hear of check-ins (never her answers), and never of a mood flag, opened or resolved.
    {
        use diesel::sql_types::Text;
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            event_type: String,
            #[diesel(sql_type = Text)]
            payload: String,
        }
        let mut conn = app.conn().await;
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT event_type, payload::text AS payload FROM webhook_events ORDER BY seq",
        )
        .load(&mut conn)
        .await
        .unwrap();
        let check_in_events: Vec<&Row> = rows
            .iter()
            .filter(|r| r.event_type == "check_in.created")
            .collect();
        assert_eq!(check_in_events.len(), 2);
        assert!(
            !check_in_events[0].payload.contains("mood")
                && !check_in_events[0].payload.contains("sleep")
        );
        assert!(
            rows.iter().all(|r| !r.payload.contains("\"mood\"")),
            "no mood flag in webhooks"
        );
        assert!(rows.iter().all(|r| !r.event_type.starts_with("flag.")));
    }

    let other = app
        .new_coach(&admin, "Lena Park", "lena@riverside.example")
        .await;
    assert_problem(
        app.get(&format!("/v1/clients/{id}/check-ins"), Some(&other.token))
            .await,
        404,
    )
    .await;
    assert_problem(
        app.post(
            &format!("/v1/clients/{id}/check-ins"),
            Some(&other.token),
            &json!({"sleep_hours": 7.0, "fatigue": 4}),
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn answers_worth_a_clinicians_look_are_advisories_and_change_nothing() {
    let app = spawn_app().await;
    let (_, _, ana, _) = people(&app).await;
    let feeding = check_in(
        &app,
        &ana,
        "me",
        json!({"checked_on": days_ago(10), "sleep_hours": 7.0, "fatigue": 3,
        "breastfeeding": "partial", "periods_returned": false, "running_worry": 8}),
    )
    .await;
    assert_eq!(feeding["advisories"], json!([]));
    let weaned = check_in(
        &app,
        &ana,
        "me",
        json!({"sleep_hours": 7.0, "fatigue": 3,
        "breastfeeding": "no", "periods_returned": false, "running_worry": 9}),
    )
    .await;
    let rules: Vec<&str> = weaned["advisories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["advisory.periods_not_returned", "advisory.running_worry"]
    );
}

#[tokio::test]
async fn bad_check_ins_are_refused_naming_the_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let (_, _, ana, _) = people(&app).await;
    let cases = [
        (json!({"sleep_hours": 25, "fatigue": 3}), 422, "sleep_hours"),
        (json!({"sleep_hours": 7, "fatigue": 11}), 422, "fatigue"),
        (
            json!({"sleep_hours": 7, "fatigue": 3, "running_worry": 12}),
            422,
            "running_worry",
        ),
        (
            json!({"sleep_hours": 7, "fatigue": 3, "mood_screen": {"little_interest": 4, "feeling_down": 0}}),
            422,
            "mood_screen.little_interest",
        ),
        (
            json!({"sleep_hours": 7, "fatigue": 3, "mood_screen": {"little_interest": 1}}),
            422,
            "feeling_down",
        ),
        (json!({"sleep_hours": 7}), 422, "fatigue"),
        (
            json!({"sleep_hours": "lots", "fatigue": 3}),
            422,
            "sleep_hours",
        ),
        (
            json!({"sleep_hours": 7, "fatigue": 3, "breastfeeding": "sometimes"}),
            422,
            "breastfeeding",
        ),
        (
            json!({"sleep_hours": 7, "fatigue": 3, "mood": 2}),
            422,
            "mood",
        ),
        (
            json!({"sleep_hours": 7, "fatigue": 3, "checked_on": days_ago(-3)}),
            422,
            "checked_on",
        ),
    ];
    for (body, status, field) in cases {
        let res = app
            .post("/v1/clients/me/check-ins", Some(&ana.token), &body)
            .await;
        let problem = assert_problem(res, status).await;
        assert!(problem.to_string().contains(field), "{body}: {problem}");
    }
    let res = app
        .client
        .post(format!("{}/v1/clients/me/check-ins", app.address))
        .bearer_auth(&ana.token)
        .header("content-type", "application/json")
        .body("{\"sleep_hours\": 7, ")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400).await;
    let list: Value = app
        .get("/v1/clients/me/check-ins", Some(&ana.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]));
}
