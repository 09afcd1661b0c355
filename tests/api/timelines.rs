//! Individual timelines: the three-week floor, the caesarean scar gate, and a jogging gate
//! date of her own.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, Caller, TestApp};

fn days_ago(n: i64) -> String {
    (Utc::now().date_naive() - Duration::days(n)).to_string()
}

/// A coach, and a client of hers `days` postpartum after a birth of `delivery_type`, cleared
/// for exercise, with the default program started. Returns (admin, coach, client id).
async fn client(app: &TestApp, days: i64, delivery_type: &str) -> (Caller, Caller, String) {
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let client = app
        .create_client(
            &coach,
            &json!({"name": "Ana Lima", "delivery_date": days_ago(days),
            "delivery_type": delivery_type, "cleared_for_exercise": true}),
        )
        .await;
    let id = client["id"].as_str().unwrap().to_string();
    app.start_default_plan(&coach, &id).await;
    (admin, coach, id)
}

async fn advance(
    app: &TestApp,
    coach: &Caller,
    id: &str,
    override_gate: bool,
) -> reqwest::Response {
    app.post(&format!("/v1/clients/{id}/plan/transitions"), Some(&coach.token),
        &json!({"action": "advance", "reason": "Exit criteria met.", "override_gate": override_gate}))
        .await
}

async fn put(app: &TestApp, caller: &Caller, path: &str, body: Value) -> reqwest::Response {
    app.request(Method::PUT, path, Some(&caller.token), Some(&body))
        .await
}

#[tokio::test]
async fn after_a_caesarean_lunges_wait_for_her_scar_to_be_cleared() {
    let app = spawn_app().await;
    let (admin, coach, id) = client(&app, 100, "caesarean").await;
    assert_eq!(
        advance(&app, &coach, &id, false).await.status(),
        201,
        "walking hills needs no scar check"
    );
    let problem = assert_problem(advance(&app, &coach, &id, false).await, 409).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("caesarean scar"),
        "{problem}"
    );
    // The engine's trace says the same, with what it weighed.
    let res = app
        .post(
            &format!("/v1/clients/{id}/sessions"),
            Some(&coach.token),
            &json!({"performed_on": days_ago(1), "completed": true}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let why: Value = app
        .get(
            &format!("/v1/clients/{id}/plan/recommendation"),
            Some(&coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let r1 = why["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "R1")
        .unwrap()
        .clone();
    assert_eq!(r1["inputs"]["requires_scar_clearance"], true, "{r1}");
    assert_eq!(r1["inputs"]["caesarean_scar_cleared"], false);
    assert_eq!(r1["outcome"], "hold");

    let path = format!("/v1/clients/{id}/caesarean-scar-clearance");
    for (body, field) in [
        (json!({"clinician": "  "}), "clinician"),
        (
            json!({"clinician": "Dr Bello", "cleared_on": days_ago(-2)}),
            "cleared_on",
        ),
        (
            json!({"clinician": "Dr Bello", "cleared_on": days_ago(200)}),
            "cleared_on",
        ),
        (json!({"clinician": "Dr Bello", "by": "me"}), "by"),
    ] {
        let problem = assert_problem(put(&app, &coach, &path, body).await, 422).await;
        assert!(problem.to_string().contains(field), "{problem}");
    }
    let res = put(
        &app,
        &coach,
        &path,
        json!({"clinician": "Dr Aisha Bello, GP", "cleared_on": days_ago(2)}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let client: Value = res.json().await.unwrap();
    assert_eq!(
        client["caesarean_scar_clearance"]["clinician"],
        "Dr Aisha Bello, GP"
    );
    assert_eq!(
        client["caesarean_scar_clearance"]["cleared_on"],
        days_ago(2)
    );
    assert_eq!(
        client["caesarean_scar_clearance"]["recorded_by"],
        coach.user_id.to_string()
    );
    assert_eq!(advance(&app, &coach, &id, false).await.status(), 201);
    let events = app
        .audit_events(&admin.token, "?action=client.scar_clearance.record")
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor_id"], coach.user_id.to_string());
    // Withdrawn, it is gone from her record (and audited).
    let res = app
        .request(Method::DELETE, &path, Some(&coach.token), None)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["caesarean_scar_clearance"],
        Value::Null
    );
    assert_eq!(
        app.audit_events(&admin.token, "?action=client.scar_clearance.withdraw")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn scar_clearance_is_for_caesarean_births_and_staff_only() {
    let app = spawn_app().await;
    let (admin, coach, id) = client(&app, 100, "vaginal").await;
    let path = format!("/v1/clients/{id}/caesarean-scar-clearance");
    assert_problem(
        put(&app, &coach, &path, json!({"clinician": "Dr Bello"})).await,
        409,
    )
    .await;
    let other = app
        .new_coach(&admin, "Lena Park", "lena@riverside.example")
        .await;
    assert_problem(
        put(&app, &other, &path, json!({"clinician": "Dr Bello"})).await,
        404,
    )
    .await;
    let elsewhere = app
        .new_admin("Hillside Physio", "admin@hillside.example")
        .await;
    assert_problem(
        put(&app, &elsewhere, &path, json!({"clinician": "Dr Bello"})).await,
        404,
    )
    .await;
    // After a vaginal birth, lunges never wait for a scar check.
    assert_eq!(advance(&app, &coach, &id, false).await.status(), 201);
    assert_eq!(advance(&app, &coach, &id, false).await.status(), 201);
}

#[tokio::test]
async fn no_stage_starts_before_day_21_not_even_with_an_override() {
    let app = spawn_app().await;
    let (_, coach, id) = client(&app, 15, "vaginal").await;
    let problem = assert_problem(advance(&app, &coach, &id, true).await, 409).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("day 21"),
        "{problem}"
    );
    // Nor can an individual jogging date go below it.
    let problem = assert_problem(
        put(&app, &coach, &format!("/v1/clients/{id}/plan/jogging-gate"),
            json!({"on": days_ago(15 - 14), "reason": "Keen runner.", "agreed_by": "Sam Reid, physio"})).await,
        422,
    )
    .await;
    assert!(problem.to_string().contains("\"on\""), "{problem}");
}

#[tokio::test]
async fn a_coach_sets_her_own_jogging_date_with_a_reason_and_a_clinician() {
    let app = spawn_app().await;
    let (admin, coach, id) = client(&app, 70, "vaginal").await;
    for _ in 0..2 {
        assert_eq!(advance(&app, &coach, &id, false).await.status(), 201);
    }
    // Day 70 at lunges: the program's jogging gate (day 84) holds.
    let problem = assert_problem(advance(&app, &coach, &id, false).await, 409).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("day 84"),
        "{problem}"
    );

    let path = format!("/v1/clients/{id}/plan/jogging-gate");
    let problem = assert_problem(
        put(
            &app,
            &coach,
            &path,
            json!({"on": days_ago(0), "reason": "", "agreed_by": ""}),
        )
        .await,
        422,
    )
    .await;
    assert!(
        problem.to_string().contains("reason") && problem.to_string().contains("agreed_by"),
        "{problem}"
    );
    assert_problem(
        put(&app, &coach, &path, json!({"on": days_ago(0)})).await,
        422,
    )
    .await;

    // SPEC §1.8: a date before day 84 cites a pelvic-health assessment that cleared impact.
    let mut body = json!({"on": days_ago(0), "reason": "Strong pelvic floor on assessment; ran until 30 weeks.",
        "agreed_by": "Sam Reid, pelvic-health physiotherapist"});
    let problem = assert_problem(put(&app, &coach, &path, body.clone()).await, 422).await;
    assert_eq!(problem["errors"][0]["field"], "assessment_id");
    let assessment: Value = app
        .post(
            &format!("/v1/clients/{id}/assessments"),
            Some(&coach.token),
            &json!({"kind": "pelvic_health", "clinician": "Sam Reid, pelvic-health physiotherapist",
                "modified_oxford": 4, "impact_cleared": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    body["assessment_id"] = assessment["id"].clone();
    let res = put(&app, &coach, &path, body.clone()).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("etag"));
    let plan: Value = res.json().await.unwrap();
    assert_eq!(plan["jogging_gate"]["on"], days_ago(0));
    assert_eq!(
        plan["jogging_gate"]["agreed_by"],
        "Sam Reid, pelvic-health physiotherapist"
    );
    assert_eq!(plan["jogging_gate"]["set_by"], coach.user_id.to_string());
    let events = app
        .audit_events(&admin.token, "?action=plan.jogging_gate.set")
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["changes"]["to"], days_ago(0));
    // Her own gate opens jogging at day 70.
    let res = advance(&app, &coach, &id, false).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["plan"]["stage"], "jogging");

    // A later date holds her back, and removing it restores the program's gate.
    let (coach_b, later) = {
        let admin_b = app
            .new_admin("Hillside Physio", "admin@hillside.example")
            .await;
        let coach_b = app
            .new_coach(&admin_b, "Zoe Park", "zoe@hillside.example")
            .await;
        let c = app
            .create_client(
                &coach_b,
                &json!({"name": "Bea Souza", "delivery_date": days_ago(100),
            "delivery_type": "vaginal", "cleared_for_exercise": true}),
            )
            .await;
        let cid = c["id"].as_str().unwrap().to_string();
        app.start_default_plan(&coach_b, &cid).await;
        (coach_b, cid)
    };
    for _ in 0..2 {
        assert_eq!(advance(&app, &coach_b, &later, false).await.status(), 201);
    }
    let gate = format!("/v1/clients/{later}/plan/jogging-gate");
    assert_eq!(
        put(
            &app,
            &coach_b,
            &gate,
            json!({"on": days_ago(-20), "reason": "Heavy pelvic symptoms last month.",
        "agreed_by": "Sam Reid, physio"})
        )
        .await
        .status(),
        200
    );
    let problem = assert_problem(advance(&app, &coach_b, &later, false).await, 409).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("day 120"),
        "{problem}"
    );
    // Coach A cannot touch coach B's client in another practice.
    assert_problem(
        app.request(Method::DELETE, &gate, Some(&coach.token), None)
            .await,
        404,
    )
    .await;
    let res = app
        .request(Method::DELETE, &gate, Some(&coach_b.token), None)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["jogging_gate"],
        Value::Null
    );
    assert_eq!(advance(&app, &coach_b, &later, false).await.status(), 201);
}
