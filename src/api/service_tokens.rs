//! Service tokens: opaque secrets for scripts (imports, exports). Shown once, stored hashed,
//! scoped, revocable; a token acts as the admin who made it, within its scopes.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{AuthenticatedBodyErrors, BodyErrors, NotFound, ReadErrors};
use super::extract::{JsonBody, QueryParams};
use super::{Page, PageQuery};
use crate::auth::secrets;
use crate::db::audit;
use crate::db::tokens::{self, NewServiceToken, ServiceToken};
use crate::domain::identity::Principal;
use crate::domain::identity::Scope;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_service_tokens)
        .service(create_service_token)
        .service(revoke_service_token);
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937a4f-1b2c-7d3e-8f40-5a6b7c8d9e0f",
    "name": "Nightly import from the clinic system",
    "scopes": ["clients:import", "clients:read"],
    "token_prefix": "rbs_Vb7Q",
    "created_at": "2026-11-03T10:00:00Z",
    "last_used_at": "2026-11-25T02:00:04Z"
}))]
pub struct ServiceTokenView {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The first characters of the secret, to tell tokens apart.
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ServiceToken> for ServiceTokenView {
    fn from(t: ServiceToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            scopes: Scope::parse_list(&t.scopes),
            token_prefix: t.token_prefix,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Nightly import from the clinic system", "scopes": ["clients:import"]}))]
pub struct NewServiceTokenRequest {
    /// What the token is for (not blank).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: String,
    /// At least one scope.
    #[schema(min_items = 1)]
    pub scopes: Vec<Scope>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedServiceToken {
    #[serde(flatten)]
    pub service_token: ServiceTokenView,
    /// The secret, shown only this once: send it as `Authorization: Bearer <token>`.
    #[schema(example = "rbs_Vb7Q2n9xKp4LmT8rW1yZ3aC5eG7iK9mO1qS3uW5yA7c")]
    pub token: String,
}

/// The organization's live service tokens (never their secrets).
#[utoipa::path(tag = "service-tokens", operation_id = "listServiceTokens", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of tokens", body = Page<ServiceTokenView>), ReadErrors))]
#[get("/v1/service-tokens")]
pub async fn list_service_tokens(
    state: web::Data<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<web::Json<Page<ServiceTokenView>>> {
    let (limit, after) = query.parse()?;
    let mut conn = state.pool.get().await?;
    let rows =
        tokens::list_service_tokens(&mut conn, principal.organization_id, after, limit).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |t| t.id,
        ServiceTokenView::from,
    )))
}

/// Create a service token for a script.
///
/// The secret is in this answer only; store it in the script's secret store.
#[utoipa::path(tag = "service-tokens", operation_id = "createServiceToken", security(("bearer" = [])),
    request_body = NewServiceTokenRequest,
    responses((status = 201, description = "Created; the secret is shown once", body = CreatedServiceToken),
        AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/service-tokens")]
pub async fn create_service_token(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<NewServiceTokenRequest>,
) -> ApiResult<HttpResponse> {
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "must be between 1 and 100 characters",
        ));
    }
    let mut scopes = body.scopes;
    scopes.sort_by_key(|s| s.as_str());
    scopes.dedup();
    if scopes.is_empty() {
        return Err(ApiError::invalid("scopes", "must name at least one scope"));
    }
    let secret = secrets::generate(secrets::SERVICE_TOKEN_PREFIX);
    let digest = secrets::digest(&secret);
    let scope_list = Scope::join(&scopes);
    let mut conn = state.pool.get().await?;
    let created = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let token = tokens::insert_service_token(
                conn,
                NewServiceToken {
                    organization_id: principal.organization_id,
                    created_by: principal.user_id,
                    name: &name,
                    scopes: &scope_list,
                    digest: &digest,
                    token_prefix: &secret[..8],
                },
            )
            .await?;
            audit::record(
                conn,
                principal.organization_id,
                principal.actor(),
                "service_token.create",
                "service_token",
                token.id,
                serde_json::json!({"name": token.name, "scopes": token.scopes}),
            )
            .await?;
            Ok(token)
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedServiceToken {
        service_token: created.into(),
        token: secret,
    }))
}

/// Revoke a service token; it stops working at once.
#[utoipa::path(tag = "service-tokens", operation_id = "revokeServiceToken", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"), NotFound, ReadErrors))]
#[delete("/v1/service-tokens/{id}")]
pub async fn revoke_service_token(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        if !tokens::revoke_service_token(conn, principal.organization_id, *id).await? {
            return Err(ApiError::NotFound);
        }
        audit::record(
            conn,
            principal.organization_id,
            principal.actor(),
            "service_token.revoke",
            "service_token",
            *id,
            serde_json::json!({}),
        )
        .await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
