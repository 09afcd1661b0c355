//! The access matrix: every documented route × every kind of caller → the expected status.
//! The routes come from the OpenAPI document, so a new route cannot be forgotten: a route with
//! no rule in the policy table fails here.

use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use runback::auth::jwt::{kid_of, Claims, JwtKeys, AUDIENCE, ISSUER};
use runback::domain::identity::{Principal, ServiceTokenGrant};
use runback::domain::identity::{Role, Scope};
use runback::domain::ids::{ClientId, OrganizationId, UserId};
use runback::domain::policy::{self, Access, ClientOwnership, Verdict};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{jwt_secret, spawn_app, Caller};

fn documented_routes() -> Vec<(String, String)> {
    let doc: Value = serde_json::from_str(&runback::openapi::document_json()).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.push((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

#[test]
fn every_documented_route_has_a_rule_and_every_rule_a_route() {
    let routes = documented_routes();
    for (method, path) in &routes {
        assert!(
            policy::rule_for(method, path).is_some(),
            "{method} {path} has no access rule in domain::policy::ROUTES"
        );
    }
    for rule in policy::ROUTES {
        assert!(
            routes
                .iter()
                .any(|(m, p)| m == rule.method && p == rule.path),
            "the rule for {} {} names no documented route",
            rule.method,
            rule.path
        );
    }
}

fn claims(role: Role, exp_offset: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: UserId::generate(),
        org: OrganizationId::generate(),
        role,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now,
        nbf: now,
        exp: now + exp_offset,
        jti: Uuid::now_v7(),
        cid: None,
    }
}

fn sign(claims: &Claims, secret: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid_of(secret));
    encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Callers whose credentials are not valid: each must get 401 everywhere.
fn invalid_tokens(coach_token: &str) -> Vec<(&'static str, String)> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = coach_token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    payload["role"] = json!("admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(payload.to_string()),
        parts[2]
    );
    let alg_none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let other_key = JwtKeys::new(
        "a-completely-different-secret-of-32-bytes",
        None,
        std::time::Duration::from_secs(900),
    )
    .unwrap()
    .issue(
        UserId::generate(),
        OrganizationId::generate(),
        Role::Admin,
        None,
    )
    .unwrap();
    let mut wrong_aud = claims(Role::Admin, 600);
    wrong_aud.aud = "another-api".into();
    let mut wrong_iss = claims(Role::Admin, 600);
    wrong_iss.iss = "someone-else".into();
    vec![
        (
            "expired token",
            sign(&claims(Role::Admin, -120), jwt_secret()),
        ),
        ("token signed with another key", other_key),
        ("alg none token", alg_none),
        ("wrong audience", sign(&wrong_aud, jwt_secret())),
        ("wrong issuer", sign(&wrong_iss, jwt_secret())),
        ("tampered payload", tampered),
        ("garbage", "not-a-token".into()),
        ("oversized token", "x".repeat(8000)),
        ("unknown service token", "rbs_unknown".into()),
    ]
}

struct Valid {
    name: &'static str,
    caller: Caller,
    principal: Principal,
    /// Whether path ids (of organization A) are within this caller's organization.
    same_org: bool,
}

fn principal(caller: &Caller, role: Role, scopes: Option<Vec<Scope>>) -> Principal {
    Principal {
        user_id: UserId(caller.user_id),
        organization_id: OrganizationId(caller.organization_id),
        role,
        client_id: caller.client_id.map(ClientId),
        service_token: scopes.map(|scopes| ServiceTokenGrant {
            id: Uuid::nil(),
            scopes,
        }),
    }
}

#[tokio::test]
async fn the_access_matrix_holds_for_every_route_and_caller() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let other_admin = app
        .new_admin("Hillside Clinic", "admin@hillside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let other_coach = app
        .new_coach(&admin, "Zoe Park", "zoe@riverside.example")
        .await;
    let client_a = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let client_b = app
        .new_client(&other_coach, "Bea Souza", "bea@example.org")
        .await;
    let target_client = ClientOwnership {
        id: ClientId(client_a.client_id.unwrap()),
        organization_id: OrganizationId(admin.organization_id),
        coach_id: Some(UserId(coach.user_id)),
    };
    let report: Value = app
        .post(
            &format!("/v1/clients/{}/symptom-reports", target_client.id),
            Some(&coach.token),
            &json!({"timing": "daily_life", "bulge_seen_or_felt": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    let report_id = report["id"].as_str().unwrap().to_string();
    let flag_id = report["flag_id"].as_str().unwrap().to_string();
    let programs: Value = app
        .get("/v1/programs", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    let program_id = programs["items"][0]["id"].as_str().unwrap().to_string();
    let res = app
        .post(
            &format!("/v1/clients/{}/plan", target_client.id),
            Some(&coach.token),
            &json!({"program_id": program_id}),
        )
        .await;
    assert_eq!(res.status(), 201);
    // A session at her step: the engine has a decision to explain.
    let res = app
        .post(
            &format!("/v1/clients/{}/sessions", target_client.id),
            Some(&coach.token),
            &json!({"completed": true, "performed_on": chrono::Utc::now().date_naive()}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let (_, all_scopes) = app
        .new_service_token(&admin, &Scope::ALL.map(|s| s.as_str()))
        .await;
    let (_, import_only) = app.new_service_token(&admin, &["clients:import"]).await;
    let (revoked_id, revoked) = app.new_service_token(&admin, &["coaches:read"]).await;
    assert_eq!(
        app.delete(
            &format!("/v1/service-tokens/{revoked_id}"),
            Some(&admin.token)
        )
        .await
        .status(),
        204
    );
    // Objects of organization A that {id} paths name.
    let target_coach = app
        .new_coach(&admin, "Ines Duarte", "ines@riverside.example")
        .await;
    let (target_token_id, _) = app.new_service_token(&admin, &["clients:read"]).await;
    let webhook: Value = app
        .post(
            "/v1/webhooks",
            Some(&admin.token),
            &json!({"url": "https://hooks.riverside.example/in", "events": ["flag.opened"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let webhook_id = webhook["id"].as_str().unwrap().to_string();

    let token_caller = |token: String| Caller {
        token,
        ..admin.clone()
    };
    let valid = vec![
        Valid {
            name: "client A",
            principal: principal(&client_a, Role::Client, None),
            caller: client_a.clone(),
            same_org: true,
        },
        Valid {
            name: "client B",
            principal: principal(&client_b, Role::Client, None),
            caller: client_b.clone(),
            same_org: true,
        },
        Valid {
            name: "coach",
            principal: principal(&coach, Role::Coach, None),
            caller: coach.clone(),
            same_org: true,
        },
        Valid {
            name: "other coach",
            principal: principal(&other_coach, Role::Coach, None),
            caller: other_coach.clone(),
            same_org: true,
        },
        Valid {
            name: "admin of another organization",
            principal: principal(&other_admin, Role::Admin, None),
            caller: other_admin.clone(),
            same_org: false,
        },
        Valid {
            name: "service token with every scope",
            principal: principal(&admin, Role::Admin, Some(Scope::ALL.to_vec())),
            caller: token_caller(all_scopes),
            same_org: true,
        },
        Valid {
            name: "service token without the scope",
            principal: principal(&admin, Role::Admin, Some(vec![Scope::ClientsImport])),
            caller: token_caller(import_only),
            same_org: true,
        },
        // The admin last: her writes (deletes) must not hide what the others would have seen.
        Valid {
            name: "admin",
            principal: principal(&admin, Role::Admin, None),
            caller: admin.clone(),
            same_org: true,
        },
    ];
    let mut invalid = invalid_tokens(&coach.token);
    invalid.push(("revoked service token", revoked));

    let mut checked = 0;
    let mut ended = std::collections::HashSet::new();
    let mut routes = documented_routes();
    // Deletions last, so that what they remove is there for every other check; signing out
    // everywhere after them, as it ends each caller's token.
    routes.sort_by_key(|(method, path)| (path == "/v1/auth/logout-all", method == "DELETE"));
    for (method, template) in routes {
        let rule = policy::rule_for(&method, &template).unwrap();
        if rule.access == Access::Public {
            continue;
        }
        let path = template
            .replace("{client_id}", &target_client.id.to_string())
            .replace("{report_id}", &report_id)
            .replace(
                "{id}",
                &if template.starts_with("/v1/coaches") {
                    target_coach.user_id.to_string()
                } else if template.starts_with("/v1/programs") {
                    program_id.clone()
                } else if template.starts_with("/v1/flags") {
                    flag_id.clone()
                } else if template.starts_with("/v1/webhooks") {
                    webhook_id.clone()
                } else {
                    target_token_id.to_string()
                },
            );
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = matches!(method, Method::POST | Method::PATCH | Method::PUT).then(|| json!({}));
        let status = |res: reqwest::Response| res.status().as_u16();

        let res = app
            .request(method.clone(), &path, None, body.as_ref())
            .await;
        assert_eq!(status(res), 401, "anonymous {method} {path}");
        for (name, token) in &invalid {
            let res = app
                .request(method.clone(), &path, Some(token), body.as_ref())
                .await;
            assert_eq!(status(res), 401, "{name}: {method} {path}");
        }
        for caller in &valid {
            let res = app
                .request(
                    method.clone(),
                    &path,
                    Some(&caller.caller.token),
                    body.as_ref(),
                )
                .await;
            let got = status(res);
            if ended.contains(caller.name) {
                // Signed out everywhere, or erased: her token is refused at once.
                assert_eq!(got, 401, "{} (token ended): {method} {path}", caller.name);
                checked += 1;
                continue;
            }
            if got == 204 && template == "/v1/auth/logout-all" {
                ended.insert(caller.name);
            }
            if got == 204 && method == Method::DELETE && template == "/v1/clients/{client_id}" {
                ended.insert("client A");
            }
            match policy::verdict(rule.access, Some(&caller.principal)) {
                Verdict::Forbidden => assert_eq!(got, 403, "{}: {method} {path}", caller.name),
                Verdict::Unauthenticated => unreachable!(),
                Verdict::Allow if !reaches(&template, caller, &target_client) => {
                    // Out of reach looks exactly like not there: a 404, or the same 422 a
                    // malformed body gets for an id that does not exist.
                    let nowhere = template
                        .replace("{client_id}", &Uuid::now_v7().to_string())
                        .replace("{report_id}", &Uuid::now_v7().to_string())
                        .replace("{id}", &Uuid::now_v7().to_string());
                    let res = app
                        .request(
                            method.clone(),
                            &nowhere,
                            Some(&caller.caller.token),
                            body.as_ref(),
                        )
                        .await;
                    assert_eq!(
                        got,
                        status(res),
                        "{}: {method} {path} reveals existence",
                        caller.name
                    );
                    assert!(
                        got == 404 || got == 422,
                        "{}: {method} {path} got {got}",
                        caller.name
                    );
                    if body.is_none() {
                        assert_eq!(got, 404, "{}: {method} {path}", caller.name);
                    }
                }
                Verdict::Allow if method == Method::GET => assert_eq!(
                    got, 200,
                    "{}: {method} {path} should read what it may reach",
                    caller.name
                ),
                // She has an account, so a new invitation resets her password: a signed-in
                // person's decision, never a script's (domain::policy::may_reset_passwords).
                Verdict::Allow
                    if template == "/v1/clients/{client_id}/invitation"
                        && caller.principal.service_token.is_some() =>
                {
                    assert_eq!(got, 403, "{}: {method} {path}", caller.name)
                }
                Verdict::Allow => assert!(
                    got != 401 && got != 403 && got < 500,
                    "{}: {method} {path} got {got}",
                    caller.name
                ),
            }
            checked += 1;
        }
    }
    assert!(checked >= 200, "only {checked} checks ran");
}

/// Whether the object a path names is within the caller's reach.
fn reaches(template: &str, caller: &Valid, client: &ClientOwnership) -> bool {
    if template.contains("{client_id}") || template.starts_with("/v1/flags/") {
        policy::may_access_client(&caller.principal, client)
    } else {
        !template.contains('{') || caller.same_org
    }
}

#[tokio::test]
async fn nobody_raises_her_role_or_changes_organization_through_a_write() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    for body in [
        json!({"role": "admin"}),
        json!({"organization_id": Uuid::now_v7()}),
        json!({"name": "Maya", "role": "admin"}),
    ] {
        let res = app
            .patch(
                &format!("/v1/coaches/{}", coach.user_id),
                Some(&admin.token),
                &body,
            )
            .await;
        assert_eq!(res.status(), 422, "{body}");
    }
    let res = app
        .post(
            "/v1/coaches",
            Some(&admin.token),
            &json!({"name": "Eve", "email": "eve@example.org", "role": "admin"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let me: Value = app
        .get("/v1/me", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "coach");
    assert_eq!(me["organization"]["id"], admin.organization_id.to_string());
}
