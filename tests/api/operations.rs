use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_answers_without_the_database() {
    let app = spawn_app().await;
    let res = app.get("/healthz", None).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_checks_the_database() {
    let app = spawn_app().await;
    let res = app.get("/readyz", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn an_unreachable_database_is_a_503_with_retry_after_not_a_hang() {
    // Point the pool at a port where nothing listens.
    let app = spawn_app_with(|s| {
        s.database_url = Some("postgres://postgres@127.0.0.1:1/nothing".into());
        s.acquire_timeout = std::time::Duration::from_millis(500);
    })
    .await;
    let started = std::time::Instant::now();
    let res = app.get("/readyz", None).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 503).await;
    let res = app.login("ana@example.org", "whatever password").await;
    assert!(res.headers().contains_key("retry-after"));
    let problem = assert_problem(res, 503).await;
    assert!(!problem["detail"].as_str().unwrap().contains("127.0.0.1"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_show_the_pool() {
    let app = spawn_app().await;
    app.get("/healthz", None).await;
    app.get("/v1/coaches/0193aaaa-0000-7000-8000-000000000000", None)
        .await;
    let res = app.get("/metrics", None).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            "runback_http_requests_total{endpoint=\"/healthz\",method=\"GET\",status=\"200\"}"
        ),
        "{text}"
    );
    // Routes are labelled by pattern, never by the id in the URL.
    assert!(text.contains("endpoint=\"/v1/coaches/{id}\""), "{text}");
    assert!(text.contains("runback_http_requests_duration_seconds_bucket"));
    assert!(text.contains("runback_db_pool_max_connections 8"));
    assert!(text.contains("runback_db_pool_connections"));
}

#[tokio::test]
async fn docs_and_the_openapi_document_are_served() {
    let app = spawn_app().await;
    let res = app.get("/docs", None).await;
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self';"));
    assert!(!csp.contains("http"), "no other origin: {csp}");
    let page = res.text().await.unwrap();
    assert!(page.contains("<html"));
    // Every asset from the service itself: nothing on the page names another host.
    assert!(
        !page.contains("http:") && !page.contains("https:"),
        "{page}"
    );
    for (asset, kind) in [
        ("/docs/swagger-ui-bundle.js", "javascript"),
        ("/docs/swagger-ui.css", "css"),
        ("/docs/swagger-initializer.js", "javascript"),
    ] {
        let res = app.get(asset, None).await;
        assert_eq!(res.status(), 200, "{asset}");
        let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(content_type.contains(kind), "{asset}: {content_type}");
        if asset.ends_with("initializer.js") {
            let script = res.text().await.unwrap();
            assert!(script.contains("/openapi.json"), "{script}");
            assert!(script.contains("\"validatorUrl\": \"none\""), "{script}");
        }
    }
    assert_eq!(app.get("/docs/nothing.js", None).await.status(), 404);
    let res = app.get("/docs/", None).await;
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/docs");
    let served: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(served, committed);
}

/// The committed document is the code's document. Regenerate with
/// `UPDATE_OPENAPI=1 cargo test openapi` or `cargo run -- openapi > openapi/openapi.json`.
#[test]
fn committed_openapi_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let generated = runback::openapi::document_json();
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi")).unwrap();
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date with the code; regenerate it with \
         `UPDATE_OPENAPI=1 cargo test openapi` (or `cargo run -- openapi > openapi/openapi.json`) \
         and commit it"
    );
}

#[test]
fn every_operation_is_documented_for_a_frontend() {
    let doc: Value = serde_json::from_str(&runback::openapi::document_json()).unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                !id.is_empty() && id.chars().next().unwrap().is_lowercase() && !id.contains('_'),
                "{method} {path}: operationId {id:?} should be camelCase"
            );
            assert!(
                operation_ids.insert(id.to_string()),
                "duplicate operationId {id}"
            );
            assert!(op["summary"].is_string(), "{method} {path} has no summary");
            assert!(
                op["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("**Who may call:**")),
                "{method} {path} does not say who may call it"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has no tag"
            );
            let responses = op["responses"].as_object().unwrap();
            assert_eq!(
                responses["default"]["$ref"], "#/components/responses/Unexpected",
                "{method} {path} has no default problem"
            );
            let throttled = runback::domain::policy::is_expensive(&method.to_uppercase(), path)
                || ["/v1/auth/login", "/v1/auth/invitations/accept"].contains(&path.as_str());
            if throttled {
                assert!(
                    responses["429"]["headers"]["Retry-After"].is_object(),
                    "{method} {path} is throttled: 429 with Retry-After"
                );
            }
            for (status, response) in responses {
                // A shared response is a reference into components.responses.
                let response = match response["$ref"].as_str() {
                    Some(r) => {
                        &doc["components"]["responses"]
                            [r.trim_start_matches("#/components/responses/")]
                    }
                    None => response,
                };
                assert_eq!(
                    response["headers"]["x-request-id"]["$ref"], "#/components/headers/RequestId",
                    "{method} {path} {status} does not declare x-request-id"
                );
                let keyed = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
                if keyed && status.starts_with('2') {
                    assert_eq!(
                        response["headers"]["Idempotent-Replayed"]["$ref"],
                        "#/components/headers/IdempotentReplayed",
                        "{method} {path} {status} may be a replay: Idempotent-Replayed"
                    );
                }
                if status.starts_with('2') {
                    for (media, content) in response["content"].as_object().into_iter().flatten() {
                        let schema = match content["schema"]["$ref"].as_str() {
                            Some(r) => {
                                &doc["components"]["schemas"]
                                    [r.trim_start_matches("#/components/schemas/")]
                            }
                            None => &content["schema"],
                        };
                        assert!(
                            content["example"].is_object()
                                || content["example"].is_string()
                                || schema["example"].is_object(),
                            "{method} {path} {status} {media} shows no example"
                        );
                    }
                }
                if status.starts_with('4') || status.starts_with('5') || status == "default" {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is not problem+json"
                    );
                }
            }
            let protected = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if protected {
                for status in ["401", "403"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path} lacks 404");
            }
            if op["requestBody"].is_object() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn cors_is_closed_by_default_and_open_only_to_configured_origins() {
    let preflight = |app: &crate::helpers::TestApp, origin: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/v1/me", app.address))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let get = |app: &crate::helpers::TestApp, origin: &str| {
        app.client
            .get(format!("{}/healthz", app.address))
            .header("origin", origin)
            .send()
    };

    let closed = spawn_app().await;
    let res = get(&closed, "https://app.example.org").await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    let res = preflight(&closed, "https://app.example.org").await.unwrap();
    assert!(!res.headers().contains_key("access-control-allow-origin"));

    let open =
        spawn_app_with(|s| s.cors_allowed_origins = vec!["https://app.example.org".into()]).await;
    let res = preflight(&open, "https://app.example.org").await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let allowed = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    let res = get(&open, "https://app.example.org").await.unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("etag") && exposed.contains("retry-after"),
        "{exposed}"
    );
    // Another origin is answered (the API is not a browser's gatekeeper) but without CORS
    // headers, so a browser keeps its page from reading the answer.
    let res = get(&open, "https://evil.example").await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    let res = preflight(&open, "https://evil.example").await.unwrap();
    assert!(!res.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn no_server_banner_and_oversized_headers_are_a_431() {
    let app = spawn_app().await;
    let res = app.get("/healthz", None).await;
    assert!(!res.headers().contains_key("server"), "{:?}", res.headers());
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-padding", "a".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers().contains_key("x-request-id"),
        "{:?}",
        res.headers()
    );
    let problem = assert_problem(res, 431).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("16384"),
        "{problem}"
    );
}

/// Every problem `type` the document shows (and `method-not-allowed`) answers a short page: its
/// title, status and what to do; an unknown type is a 404 problem.
#[tokio::test]
async fn every_problem_type_answers_a_page_about_it() {
    let app = spawn_app().await;
    let document = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json"),
    )
    .unwrap();
    let mut types: std::collections::BTreeSet<String> = document
        .match_indices("\"/problems/")
        .map(|(at, _)| {
            let rest = &document[at + 1..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .filter(|path| !path.contains('{'))
        .collect();
    types.insert("/problems/method-not-allowed".into());
    assert!(types.len() >= 13, "{types:?}");
    for path in &types {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = res.text().await.unwrap();
        assert!(page.contains(&format!("<code>{path}</code>")), "{page}");
        assert!(page.contains("<h1>") && page.contains("HTTP "), "{page}");
    }
    let unknown = app.get("/problems/no-such-problem", None).await;
    assert_problem(unknown, 404).await;
}
