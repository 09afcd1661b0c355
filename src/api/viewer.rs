//! The interactive API documentation at `/docs`: Swagger UI, vendored into the binary when it is
//! built (the `utoipa-swagger-ui` crate's `vendored` feature, from crates.io), so the page
//! renders with no outside network, behind a strict proxy or a clinic's firewall. Every asset
//! comes from this service, and the page says so to the browser: its Content-Security-Policy
//! allows this origin only (and `data:` images, which Swagger UI draws its icons with).

use std::sync::{Arc, OnceLock};

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa_swagger_ui::Config;

/// The page's policy: scripts, styles, fonts and API calls from this origin only; no frames,
/// plugins or foreign forms. Swagger UI sets inline `style` attributes, hence `'unsafe-inline'`
/// for styles (never for scripts).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'self'";

/// The page itself; its scripts are files (an inline script would need the policy loosened).
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>runback API</title>
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="stylesheet" href="/docs/index.css">
</head>
<body>
  <main id="swagger-ui"></main>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/swagger-initializer.js"></script>
</body>
</html>
"#;

fn config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            Arc::new(
                Config::new(["/openapi.json"])
                    // No call to the public validator: the page talks to this service only.
                    .validator_url("none")
                    .try_it_out_enabled(true)
                    .display_request_duration(true)
                    .filter(true),
            )
        })
        .clone()
}

/// `/docs`, `/docs/` (a redirect to `/docs`) and the page's assets under `/docs/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/docs", web::get().to(page))
        .route("/docs/", web::get().to(to_page))
        .route("/docs/{file}", web::get().to(asset));
}

fn with_policy(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    res
}

async fn page() -> HttpResponse {
    with_policy(
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(PAGE),
    )
}

async fn to_page() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs"))
        .finish()
}

async fn asset(file: web::Path<String>) -> HttpResponse {
    // Only the page's own files: its index is `/docs`, and the OAuth helpers are not used.
    if file.ends_with(".html") {
        return HttpResponse::NotFound().finish();
    }
    match utoipa_swagger_ui::serve(&file, config()) {
        Ok(Some(found)) => with_policy(
            HttpResponse::Ok()
                .content_type(found.content_type)
                // Assets change only with the binary.
                .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
                .body(found.bytes.into_owned()),
        ),
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(e) => {
            tracing::error!(error = %e, "serving a documentation asset");
            HttpResponse::InternalServerError().finish()
        }
    }
}
