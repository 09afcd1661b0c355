//! Each request's root span, with the client address this service believes.

/// Each request's root span: the fields of tracing-actix-web's default, except that the
/// client's address and the host are the ones [`super::forwarded`] believes (a forwarded
/// header counts only from `TRUSTED_PROXIES`), never what any caller writes in a header.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        let settings = request
            .app_data::<actix_web::web::Data<crate::state::AppState>>()
            .map(|state| &state.settings);
        let client_ip = settings
            .map(|s| super::forwarded::client_ip(request.request(), s))
            .unwrap_or_default();
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        // The span starts before routing, when `match_pattern` would try the router's regexes
        // again: the access policy's table names every API route and is matched segment by
        // segment (the policy's test holds it equal to the router's routes).
        let route: std::borrow::Cow<'static, str> = match crate::domain::policy::rule_for(
            request.method().as_str(),
            request.match_info().as_str(),
        ) {
            Some(rule) => rule.path.into(),
            None => request
                .match_pattern()
                .unwrap_or_else(|| "default".into())
                .into(),
        };
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %request.uri().path_and_query().map(|p| p.as_str()).unwrap_or(""),
            http.client_ip = %client_ip,
            http.user_agent = %request
                .headers()
                .get("user-agent")
                .and_then(|h| h.to_str().ok())
                .unwrap_or(""),
            request_id = %request_id,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
