//! The account-takeover and abuse paths a security review found, each closed: old invitations,
//! tokens that outlive a sign-out or a removal, forwarded addresses, and ids taken elsewhere.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, Caller, TestApp, PASSWORD};

const NEW_PASSWORD: &str = "a brand new private passphrase";

async fn accept(app: &TestApp, token: &Value, password: &str) -> reqwest::Response {
    app.post(
        "/v1/auth/invitations/accept",
        None,
        &json!({"token": token, "password": password}),
    )
    .await
}

async fn invite_coach(app: &TestApp, admin: &Caller, coach_id: &str) -> Value {
    let res = app
        .request(
            Method::POST,
            &format!("/v1/coaches/{coach_id}/invitation"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(res.status(), 201, "coach invited again");
    res.json().await.unwrap()
}

#[tokio::test]
async fn only_the_newest_invitation_works_and_a_reset_ends_every_session() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let created: Value = app
        .post(
            "/v1/coaches",
            Some(&admin.token),
            &json!({"name": "Maya Okafor", "email": "maya@riverside.example"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let coach_id = created["coach"]["id"].as_str().unwrap().to_string();
    let first = created["invitation"]["token"].clone();
    assert_eq!(created["invitation"]["kind"], "invitation");

    // Invited again (say the first went to a mistyped address): the first token is void.
    let second = invite_coach(&app, &admin, &coach_id).await;
    assert_eq!(second["kind"], "invitation");
    let problem = assert_problem(accept(&app, &first, PASSWORD).await, 422).await;
    assert_eq!(problem["errors"][0]["field"], "token");
    let res = accept(&app, &second["token"], PASSWORD).await;
    assert_eq!(res.status(), 200);
    let session: Value = res.json().await.unwrap();
    assert_eq!(
        app.get("/v1/me", session["access_token"].as_str())
            .await
            .status(),
        200
    );

    // Now she has a password: a new token is a reset, and only the newest one works.
    let stale = invite_coach(&app, &admin, &coach_id).await;
    assert_eq!(stale["kind"], "password_reset");
    let reset = invite_coach(&app, &admin, &coach_id).await;
    assert_problem(accept(&app, &stale["token"], NEW_PASSWORD).await, 422).await;
    assert_eq!(
        accept(&app, &reset["token"], NEW_PASSWORD).await.status(),
        200
    );
    // Used once, never again.
    assert_problem(accept(&app, &reset["token"], PASSWORD).await, 422).await;

    // The reset signed her out everywhere: her old access and refresh tokens are refused.
    assert_problem(
        app.get("/v1/me", session["access_token"].as_str()).await,
        401,
    )
    .await;
    assert_problem(
        app.post(
            "/v1/auth/refresh",
            None,
            &json!({"refresh_token": session["refresh_token"]}),
        )
        .await,
        401,
    )
    .await;
    assert_eq!(
        app.login("maya@riverside.example", PASSWORD).await.status(),
        401
    );
    assert_eq!(
        app.login("maya@riverside.example", NEW_PASSWORD)
            .await
            .status(),
        200
    );

    let actions: Vec<String> = app
        .audit_events(&admin.token, &format!("?entity_id={coach_id}"))
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    for action in [
        "coach.invite",
        "invitation.accept",
        "coach.password_reset",
        "password_reset.accept",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_client_password_reset_needs_a_signed_in_person() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let path = format!("/v1/clients/{}/invitation", ana.client_id.unwrap());
    // A script's token may invite, but never reset the password of someone who has one.
    let (_, token) = app.new_service_token(&admin, &["clients:write"]).await;
    assert_problem(
        app.request(Method::POST, &path, Some(&token), None).await,
        403,
    )
    .await;
    let res = app
        .request(Method::POST, &path, Some(&coach.token), None)
        .await;
    assert_eq!(res.status(), 201);
    let reset: Value = res.json().await.unwrap();
    assert_eq!(reset["kind"], "password_reset");
    assert_eq!(
        accept(&app, &reset["token"], NEW_PASSWORD).await.status(),
        200
    );
    assert_problem(app.get("/v1/me", Some(&ana.token)).await, 401).await;
}

#[tokio::test]
async fn invitation_guesses_are_throttled_per_address() {
    let app = spawn_app_with(|s| s.login_attempts_per_minute = 3).await;
    for _ in 0..3 {
        let problem = assert_problem(
            accept(&app, &json!("rbi_not-a-real-token"), PASSWORD).await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "token");
    }
    let res = accept(&app, &json!("rbi_not-a-real-token"), PASSWORD).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429).await;
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_token_at_once() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let phone: Value = app
        .login("maya@riverside.example", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    // Cached as good on both devices first: the cache must not keep them alive.
    assert_eq!(app.get("/v1/me", Some(&coach.token)).await.status(), 200);
    assert_eq!(
        app.get("/v1/me", phone["access_token"].as_str())
            .await
            .status(),
        200
    );
    let res = app
        .request(
            Method::POST,
            "/v1/auth/logout-all",
            Some(&coach.token),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_problem(app.get("/v1/me", Some(&coach.token)).await, 401).await;
    assert_problem(app.get("/v1/me", phone["access_token"].as_str()).await, 401).await;
    assert_problem(
        app.post(
            "/v1/auth/refresh",
            None,
            &json!({"refresh_token": phone["refresh_token"]}),
        )
        .await,
        401,
    )
    .await;
    // A new sign-in works.
    let again: Value = app
        .login("maya@riverside.example", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.get("/v1/me", again["access_token"].as_str())
            .await
            .status(),
        200
    );
    // A service token is no sign-in.
    let (_, token) = app.new_service_token(&admin, &["clients:read"]).await;
    assert_problem(
        app.request(Method::POST, "/v1/auth/logout-all", Some(&token), None)
            .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn a_removed_coach_loses_her_access_token_at_once() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    assert_eq!(
        app.get("/v1/clients", Some(&coach.token)).await.status(),
        200
    );
    assert_eq!(
        app.delete(
            &format!("/v1/coaches/{}", coach.user_id),
            Some(&admin.token)
        )
        .await
        .status(),
        204
    );
    let problem = assert_problem(app.get("/v1/clients", Some(&coach.token)).await, 401).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("no longer active"),
        "{problem}"
    );
}

#[tokio::test]
async fn an_id_taken_in_another_practice_is_a_clean_conflict() {
    let app = spawn_app().await;
    let mut clients = Vec::new();
    for practice in ["riverside", "hillside"] {
        let admin = app
            .new_admin(practice, &format!("admin@{practice}.example"))
            .await;
        let coach = app
            .new_coach(&admin, "Coach", &format!("coach@{practice}.example"))
            .await;
        let client = app
            .new_client(&coach, "Client", &format!("client@{practice}.example"))
            .await;
        app.start_default_plan(&coach, &client.client_id.unwrap().to_string())
            .await;
        clients.push(client);
    }
    let (riverside, hillside) = (&clients[0], &clients[1]);
    let today = chrono::Utc::now().date_naive().to_string();
    for (path, body) in [
        (
            "/v1/clients/me/symptom-reports",
            json!({"id": uuid::Uuid::now_v7(), "timing": "next_day"}),
        ),
        (
            "/v1/clients/me/sessions",
            json!({"id": uuid::Uuid::now_v7(), "performed_on": today, "completed": true}),
        ),
    ] {
        let res = app.post(path, Some(&riverside.token), &body).await;
        assert!(res.status().is_success(), "{path}: {}", res.status());
        // The same id from another practice: 409 naming `id`, never a 500.
        let problem = assert_problem(app.post(path, Some(&hillside.token), &body).await, 409).await;
        assert_eq!(problem["errors"][0]["field"], "id", "{path}: {problem}");
        // The same id with another body in the same practice: the same answer.
        let mut other = body.clone();
        other["notes"] = json!("changed");
        let same = assert_problem(app.post(path, Some(&riverside.token), &other).await, 409).await;
        assert_eq!(same["errors"], problem["errors"], "{path}");
        // A true retry still gets the first answer.
        let res = app.post(path, Some(&riverside.token), &body).await;
        assert_eq!(res.status(), 200, "{path}: a retry");
    }
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    // Untrusted: X-Forwarded-For changes nothing, so ten "addresses" share one limit.
    let app = spawn_app_with(|s| s.login_attempts_per_minute = 2).await;
    let login = |ip: &'static str| {
        app.client
            .post(format!("{}/v1/auth/login", app.address))
            .header("x-forwarded-for", ip)
            .json(&json!({"email": "nobody@example.org", "password": "wrong password"}))
            .send()
    };
    assert_eq!(login("203.0.113.1").await.unwrap().status(), 401);
    assert_eq!(login("203.0.113.2").await.unwrap().status(), 401);
    assert_eq!(login("203.0.113.3").await.unwrap().status(), 429);

    // Behind a trusted proxy: each client address has its own allowance.
    let app = spawn_app_with(|s| {
        s.login_attempts_per_minute = 2;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let attempt = |ip: &'static str, password: &'static str| {
        app.client
            .post(format!("{}/v1/auth/login", app.address))
            .header("x-forwarded-for", format!("198.51.100.200, {ip}"))
            .json(&json!({"email": "admin@riverside.example", "password": password}))
            .send()
    };
    // The admin's own login above came from the proxy's address, not these.
    assert_eq!(attempt("203.0.113.7", "wrong").await.unwrap().status(), 401);
    assert_eq!(attempt("203.0.113.7", "wrong").await.unwrap().status(), 401);
    assert_eq!(attempt("203.0.113.7", "wrong").await.unwrap().status(), 429);
    // An attacker's guesses slow the attacker, not the account: she still signs in.
    assert_eq!(
        attempt("203.0.113.8", PASSWORD).await.unwrap().status(),
        200
    );

    // Scheme and host for links come from the proxy only when it is trusted.
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("strict-transport-security"));
    let _ = admin;
}

#[tokio::test]
async fn untrusted_forwarded_host_and_scheme_never_reach_links_or_headers() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let programs: Value = app
        .get("/v1/programs", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    let id = programs["items"][0]["id"].as_str().unwrap();
    let res = app
        .client
        .get(format!("{}/v1/programs/{id}/fhir", app.address))
        .bearer_auth(&admin.token)
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example")
        .header("forwarded", "proto=https;host=evil.example")
        .send()
        .await
        .unwrap();
    assert!(!res.headers().contains_key("strict-transport-security"));
    let body: Value = res.json().await.unwrap();
    let url = body["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let app =
        spawn_app_with(|s| s.metrics_token = Some("scrape-token-of-the-monitoring".into())).await;
    assert_problem(app.get("/metrics", None).await, 401).await;
    assert_problem(app.get("/metrics", Some("another-token")).await, 401).await;
    let res = app
        .get("/metrics", Some("scrape-token-of-the-monitoring"))
        .await;
    assert_eq!(res.status(), 200);
    // Without the setting, a scraper on this machine talking to the service directly reads
    // them; through a proxy (security review finding 9: they were public) nobody does.
    let open = spawn_app().await;
    assert_eq!(open.get("/metrics", None).await.status(), 200);
    let proxied =
        spawn_app_with(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    assert_problem(proxied.get("/metrics", None).await, 401).await;
}

#[tokio::test]
async fn logs_name_the_address_only_a_trusted_proxy_vouches_for() {
    let app = spawn_app().await;
    app.new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let pair: Value = app
        .login("admin@riverside.example", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    // A reused refresh token is logged (a warning, within the request's span): sent with a
    // forwarded address from a peer that is not a trusted proxy.
    for _ in 0..2 {
        app.client
            .post(format!("{}/v1/auth/refresh", app.address))
            .header("x-forwarded-for", "203.0.113.99")
            .json(&json!({"refresh_token": pair["refresh_token"]}))
            .send()
            .await
            .unwrap();
    }
    let logs = crate::helpers::captured_logs();
    let line = logs
        .lines()
        .filter(|l| l.contains("refresh token reused"))
        .find(|l| l.contains("http.client_ip"))
        .expect("the reuse is logged with the request's client address");
    assert!(line.contains("\"http.client_ip\":\"127.0.0.1\""), "{line}");
    assert!(
        !logs.contains("203.0.113.99"),
        "a spoofed address reached the logs"
    );
}

/// Security review finding 3: behind a trusted proxy that appends `X-Forwarded-For`, a random
/// `Forwarded: for=…` of the caller's own overrode it and dodged every per-address throttle.
/// Only the header `FORWARDED_HEADER` names is read.
#[tokio::test]
async fn a_callers_own_forwarded_header_dodges_no_throttle() {
    let app = spawn_app_with(|s| {
        s.login_attempts_per_minute = 2;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let guess = |n: u32| {
        app.client
            .post(format!("{}/v1/auth/login", app.address))
            // What the proxy appends: the caller's real address.
            .header("x-forwarded-for", "203.0.113.50")
            // What the caller adds, new on every guess.
            .header("forwarded", format!("for=192.0.2.{n}"))
            .json(&json!({"email": "nobody@example.org", "password": "wrong password"}))
            .send()
    };
    assert_eq!(guess(1).await.unwrap().status(), 401);
    assert_eq!(guess(2).await.unwrap().status(), 401);
    assert_eq!(
        guess(3).await.unwrap().status(),
        429,
        "one address, one allowance"
    );
}

/// Security review finding 7: `…/plan/today?date=-262143-01-01` and `…/timeline?until=…`
/// overflowed date arithmetic and dropped the connection. Every date parameter is bounded to
/// 1900–2200 in the extractor: a 422 naming it.
#[tokio::test]
async fn far_dates_are_422_naming_the_parameter_never_a_dropped_connection() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let id = ana.client_id.unwrap();
    app.start_default_plan(&coach, &id.to_string()).await;
    for (path, field) in [
        (
            format!("/v1/clients/{id}/plan/today?date=-262143-01-01"),
            "date",
        ),
        (
            format!("/v1/clients/{id}/plan/today?date=262142-12-31"),
            "date",
        ),
        (
            format!("/v1/clients/{id}/timeline?until=-262143-01-01"),
            "until",
        ),
        (
            format!("/v1/clients/{id}/timeline?since=1899-12-31"),
            "since",
        ),
        (
            format!("/v1/clients/{id}/symptom-reports?since=2201-01-01"),
            "since",
        ),
        (
            format!("/v1/clients/{id}/sessions?until=0001-01-01"),
            "until",
        ),
        (
            format!("/v1/clients/{id}/check-ins?since=9999-01-01"),
            "since",
        ),
        (
            "/v1/audit-events?since=0001-01-01T00:00:00Z".to_string(),
            "since",
        ),
        (
            "/v1/clients?updated_since=9999-01-01T00:00:00Z".to_string(),
            "updated_since",
        ),
    ] {
        let token = if path.starts_with("/v1/audit") {
            &admin.token
        } else {
            &coach.token
        };
        let problem = assert_problem(app.get(&path, Some(token)).await, 422).await;
        assert_eq!(problem["errors"][0]["field"], field, "{path}");
    }
    // The edges are fine.
    let res = app
        .get(
            &format!("/v1/clients/{id}/plan/today?date=2200-12-31"),
            Some(&coach.token),
        )
        .await;
    assert_eq!(res.status(), 200);
}

/// Security review finding 6: lists and the dashboard's `last_report` ordered by the caller's
/// ids, so a green report with id `ffffffff-…` stayed "last" after a later amber one. Lists of
/// reports, sessions and check-ins run in server arrival order (`created_at`, then id), the
/// cursors follow it, and `last_report` is the one that arrived last.
#[tokio::test]
async fn lists_and_last_report_follow_server_arrival_not_the_callers_ids() {
    let app = spawn_app().await;
    let (_, coach, ana) = app.riverside().await;
    let client = ana.client_id.unwrap();
    let today = chrono::Utc::now().date_naive();
    let high = "ffffffff-ffff-7fff-bfff-ffffffffffff";
    let low = "00000000-0000-7000-8000-000000000001";
    let middle = uuid::Uuid::now_v7().to_string();
    for (path, bodies) in [
        (
            "symptom-reports",
            [
                json!({"id": high, "timing": "daily_life"}),
                json!({"id": middle, "timing": "daily_life"}),
                json!({"id": low, "timing": "daily_life", "urine_leak": "drops"}),
            ],
        ),
        (
            "sessions",
            [
                json!({"id": high, "performed_on": today, "completed": true}),
                json!({"id": middle, "performed_on": today, "completed": true}),
                json!({"id": low, "performed_on": today, "completed": true}),
            ],
        ),
        (
            "check-ins",
            [
                json!({"id": high, "sleep_hours": 7.0, "fatigue": 3}),
                json!({"id": middle, "sleep_hours": 6.0, "fatigue": 4}),
                json!({"id": low, "sleep_hours": 5.0, "fatigue": 5}),
            ],
        ),
    ] {
        for body in &bodies {
            let res = app
                .post(&format!("/v1/clients/me/{path}"), Some(&ana.token), body)
                .await;
            assert_eq!(res.status(), 201, "{path}: {}", res.text().await.unwrap());
        }
        // Page by page, one at a time: the order they arrived in.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("/v1/clients/{client}/{path}?limit=1");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: Value = app
                .get(&url, Some(&coach.token))
                .await
                .json()
                .await
                .unwrap();
            for item in page["items"].as_array().unwrap() {
                seen.push(item["id"].as_str().unwrap().to_string());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, [high, middle.as_str(), low], "{path}");
    }
    // The leaking report with the low id arrived after the green `ffffffff-…` one: it is last.
    let list: Value = app
        .get("/v1/clients", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["items"][0]["last_report"]["triage"], "red_pelvic",
        "{list}"
    );
}
