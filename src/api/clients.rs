//! Clients: the records coaches keep on the new mothers they coach. Created and changed by
//! coaches and admins; a client reads her own record. `DELETE` erases her data.

use super::idempotency::{Db, IdempotencyKey};
use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{AuthenticatedBodyErrors, BodyErrors, Conflict, NotFound, ReadErrors};
use super::extract::{ClientRef, JsonBody};
use crate::auth::invitations::NewInvitation;
use crate::db::clients::{self, Client, ClientFields};
use crate::domain::client::{check_delivery_date, days_postpartum, ClientStatus, DeliveryType};
use crate::domain::identity::Principal;
use crate::domain::identity::{EmailAddress, PersonName};
use crate::domain::ids::UserId;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;
use crate::usecases::{self, etag};

mod export;
mod list;
mod update;

pub use export::*;
pub use list::*;
pub use update::*;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_clients)
        .service(create_client)
        .service(get_client)
        .service(update_client)
        .service(delete_client)
        .service(invite_client)
        .service(export_client);
}

/// Who cleared the client for exercise, and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct Clearance {
    pub cleared: bool,
    pub on: Option<NaiveDate>,
    /// The coach or admin who recorded the clinician's clearance.
    pub by: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "external_id": "RP-1042",
    "name": "Ana Lima",
    "email": "ana.lima@example.org",
    "phone": "+44 7700 900123",
    "coach_id": "01937a4e-8c1d-7b3a-9f2e-5d6c7b8a9e0f",
    "delivery_date": "2026-08-20",
    "days_postpartum": 97,
    "delivery_type": "caesarean",
    "caesarean_scar_clearance": null,
    "perineal_tear_grade": null,
    "breastfeeding": true,
    "cleared_for_exercise": {"cleared": true, "on": "2026-10-02", "by": "01937a4e-8c1d-7b3a-9f2e-5d6c7b8a9e0f"},
    "status": "active",
    "notes": "Prefers morning sessions.",
    "timezone": "Europe/London",
    "created_at": "2026-09-15T09:00:00Z",
    "updated_at": "2026-11-20T18:12:00Z"
}))]
pub struct ClientView {
    pub id: Uuid,
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub coach_id: Option<Uuid>,
    /// The baby's birth date.
    pub delivery_date: NaiveDate,
    /// Computed for today in the client's time zone.
    pub days_postpartum: i64,
    pub delivery_type: DeliveryType,
    #[schema(minimum = 0, maximum = 4)]
    pub perineal_tear_grade: Option<i16>,
    pub breastfeeding: bool,
    pub cleared_for_exercise: Clearance,
    /// After a caesarean birth: her scar reviewed and cleared (null until recorded with `PUT
    /// /v1/clients/{id}/caesarean-scar-clearance`). Lunges and jogging wait for it.
    pub caesarean_scar_clearance: Option<ScarClearance>,
    pub status: ClientStatus,
    pub notes: Option<String>,
    /// IANA time zone; "today" is computed in it.
    pub timezone: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Her caesarean scar, reviewed and cleared.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScarClearance {
    pub cleared_on: NaiveDate,
    /// The clinician who reviewed it.
    pub clinician: String,
    /// Who recorded it.
    pub recorded_by: Option<Uuid>,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> Self {
        Self {
            days_postpartum: days_postpartum(c.delivery_date, c.today()),
            id: c.id.into(),
            external_id: c.external_id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            coach_id: c.coach_id.map(Uuid::from),
            delivery_date: c.delivery_date,
            delivery_type: c.delivery_type,
            perineal_tear_grade: c.perineal_tear_grade,
            breastfeeding: c.breastfeeding,
            cleared_for_exercise: Clearance {
                cleared: c.cleared_for_exercise,
                on: c.cleared_on,
                by: c.cleared_by.map(Uuid::from),
            },
            caesarean_scar_clearance: c
                .caesarean_scar_cleared_on
                .zip(c.caesarean_scar_clinician)
                .map(|(cleared_on, clinician)| ScarClearance {
                    cleared_on,
                    clinician,
                    recorded_by: c.caesarean_scar_recorded_by.map(Uuid::from),
                }),
            status: c.status,
            notes: c.notes,
            timezone: c.timezone,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A client as a coach enters her, or as an import row carries her.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "external_id": "RP-1042",
    "name": "Ana Lima",
    "email": "ana.lima@example.org",
    "delivery_date": "2026-08-20",
    "delivery_type": "caesarean",
    "breastfeeding": true,
    "cleared_for_exercise": true,
    "timezone": "Europe/London"
}))]
pub struct ClientInput {
    /// The practice's own id for her (unique in the organization); used by imports. Up to 100
    /// characters without control characters; blank means none.
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]{0,98}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub external_id: Option<String>,
    /// Not blank, up to 200 characters, no control characters.
    #[schema(
        min_length = 1,
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]{0,198}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    /// An email address (ASCII, up to 254 characters); blank means none.
    #[schema(
        max_length = 254,
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[!-~]{1,64}@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub email: Option<String>,
    /// Digits, spaces and `+ - ( ) .`, 3 to 40 characters; blank means none.
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[0-9+().-][0-9 +().-]{1,38}[0-9+().-])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub phone: Option<String>,
    /// Her coach. A coach's new clients are her own; only an admin assigns another coach.
    pub coach_id: Option<Uuid>,
    /// The baby's birth date: not in the future, not before 1990.
    pub delivery_date: NaiveDate,
    pub delivery_type: DeliveryType,
    #[schema(minimum = 0, maximum = 4)]
    pub perineal_tear_grade: Option<u8>,
    #[serde(default)]
    pub breastfeeding: bool,
    /// A clinician has cleared her for exercise (recorded with the date and by whom).
    #[serde(default)]
    pub cleared_for_exercise: bool,
    /// When she was cleared (default: today).
    pub cleared_on: Option<NaiveDate>,
    pub status: Option<ClientStatus>,
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
    /// IANA time zone, default `UTC`.
    #[schema(example = "Europe/London")]
    pub timezone: Option<String>,
}

impl ClientInput {
    pub fn from_client(c: &Client) -> Self {
        Self {
            external_id: c.external_id.clone(),
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            coach_id: c.coach_id.map(Uuid::from),
            delivery_date: c.delivery_date,
            delivery_type: c.delivery_type,
            perineal_tear_grade: c.perineal_tear_grade.map(|g| g as u8),
            breastfeeding: c.breastfeeding,
            cleared_for_exercise: c.cleared_for_exercise,
            cleared_on: c.cleared_on,
            status: Some(c.status),
            notes: c.notes.clone(),
            timezone: Some(c.timezone.clone()),
        }
    }

    /// Validates every field; the stored values, or every problem with its field.
    pub fn validate(
        self,
        today: NaiveDate,
        recorded_by: UserId,
        previous: Option<&Client>,
    ) -> Result<ClientFields, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |field: &str, result: Result<(), &str>| {
            if let Err(message) = result {
                errors.push(FieldError::new(field, message));
            }
        };
        let clean = |s: Option<String>| s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let external_id = clean(self.external_id);
        check(
            "external_id",
            external_id.as_deref().map_or(Ok(()), external_id_rule),
        );
        let name = PersonName::parse(&self.name).map(|n| n.as_str().to_string());
        check("name", name.as_ref().map(|_| ()).map_err(|m| *m));
        let email = clean(self.email)
            .map(|e| EmailAddress::parse(&e))
            .transpose();
        check("email", email.as_ref().map(|_| ()).map_err(|m| *m));
        let email = email.ok().flatten().map(|e| e.as_str().to_string());
        let phone = clean(self.phone);
        check("phone", phone.as_deref().map_or(Ok(()), phone_rule));
        check(
            "delivery_date",
            check_delivery_date(self.delivery_date, today),
        );
        let grade = self.perineal_tear_grade.filter(|g| *g > 4);
        check(
            "perineal_tear_grade",
            grade.map_or(Ok(()), |_| Err("must be between 0 and 4")),
        );
        let notes = clean(self.notes);
        let long = notes.as_ref().filter(|n| n.chars().count() > 10_000);
        check(
            "notes",
            long.map_or(Ok(()), |_| Err("must be at most 10000 characters")),
        );
        let timezone = clean(self.timezone).unwrap_or_else(|| "UTC".into());
        let zone = timezone.parse::<chrono_tz::Tz>();
        check(
            "timezone",
            zone.map(|_| ())
                .map_err(|_| "must be an IANA time zone such as Europe/London"),
        );
        let cleared = |on| cleared_on_rule(on, today, self.delivery_date);
        check("cleared_on", self.cleared_on.map_or(Ok(()), cleared));
        let (cleared_on, cleared_by) = clearance(
            self.cleared_for_exercise,
            self.cleared_on,
            previous,
            today,
            recorded_by,
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ClientFields {
            external_id,
            name: name.unwrap_or_default(),
            email,
            phone,
            coach_id: self.coach_id.map(UserId),
            delivery_date: self.delivery_date,
            delivery_type: self.delivery_type,
            perineal_tear_grade: self.perineal_tear_grade.map(i16::from),
            breastfeeding: self.breastfeeding,
            cleared_for_exercise: self.cleared_for_exercise,
            cleared_on,
            cleared_by,
            status: self.status.unwrap_or(ClientStatus::Active),
            notes,
            timezone,
        })
    }
}

/// When and by whom she was cleared for exercise: an unchanged clearance keeps who gave it and
/// when; a new one is recorded now (on the day given, or today) by `recorded_by`.
fn clearance(
    cleared: bool,
    on: Option<NaiveDate>,
    previous: Option<&Client>,
    today: NaiveDate,
    recorded_by: UserId,
) -> (Option<NaiveDate>, Option<UserId>) {
    match (cleared, previous) {
        (false, _) => (None, None),
        (true, Some(p))
            if p.cleared_for_exercise && on.is_none_or(|on| Some(on) == p.cleared_on) =>
        {
            (p.cleared_on, p.cleared_by)
        }
        (true, _) => (Some(on.unwrap_or(today)), Some(recorded_by)),
    }
}

fn external_id_rule(x: &str) -> Result<(), &'static str> {
    if x.chars().count() > 100 || x.chars().any(char::is_control) {
        Err("must be 1 to 100 characters without control characters")
    } else {
        Ok(())
    }
}

fn phone_rule(p: &str) -> Result<(), &'static str> {
    let ok = (3..=40).contains(&p.len())
        && p.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if ok {
        Ok(())
    } else {
        Err("must be a phone number (digits, spaces, + - ( ) .)")
    }
}

fn cleared_on_rule(
    on: NaiveDate,
    today: NaiveDate,
    delivery_date: NaiveDate,
) -> Result<(), &'static str> {
    if on > today {
        Err("must not be in the future")
    } else if on < delivery_date {
        Err("must not be before the delivery date")
    } else {
        Ok(())
    }
}

/// Add a client.
#[utoipa::path(tag = "clients", operation_id = "createClient", security(("bearer" = [])),
    params(IdempotencyKey),
    request_body = ClientInput,
    responses((status = 201, description = "Created", body = ClientView,
            headers(("ETag" = String, description = "The revision, for If-Match"))),
        Conflict, AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/clients")]
pub async fn create_client(
    db: Db,
    principal: Principal,
    JsonBody(input): JsonBody<ClientInput>,
) -> ApiResult<HttpResponse> {
    let today = Utc::now().date_naive();
    let fields = input
        .validate(today, principal.user_id, None)
        .map_err(ApiError::Validation)?;
    let mut conn = db.get().await?;
    let client = usecases::clients::create(&mut conn, &principal, fields).await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::ETAG, etag(client.revision)))
        .json(ClientView::from(client)))
}

/// One client (`me` for a client's own record).
#[utoipa::path(tag = "clients", operation_id = "getClient", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`")),
    responses((status = 200, description = "The client", body = ClientView,
            headers(("ETag" = String, description = "The revision, for If-Match"))),
        NotFound, ReadErrors))]
#[get("/v1/clients/{client_id}")]
pub async fn get_client(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let client = clients::find_accessible(&mut conn, &principal, id, false).await?;
    super::note_staff_read(&state, &principal, "client.read", client.id);
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::ETAG, etag(client.revision)))
        .json(ClientView::from(client)))
}

/// Erase a client: her record, plans, sessions, results and login are deleted.
///
/// Admins only. The audit trail keeps its events about her, reduced to ids and field names,
/// so who read or changed her data stays on record; one more event records the erasure.
#[utoipa::path(tag = "clients", operation_id = "eraseClient", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id")),
    responses((status = 204, description = "Erased"), NotFound, ReadErrors))]
#[delete("/v1/clients/{client_id}")]
pub async fn delete_client(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let login = usecases::clients::erase(&mut conn, &principal, id).await?;
    // Her access tokens stop working now, not when they expire.
    if let Some(user) = login {
        state.token_validity.forget(user);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Invite the client to the app, or reset her password.
///
/// She needs an email on her record (else 409: the request is fine, her record is not ready
/// for it). The answer's one-time token (valid 7 days) lets her set a password at
/// `POST /v1/auth/invitations/accept`. Only the newest token works: inviting again voids the
/// earlier ones. When she already has a password the answer's `kind` is `password_reset`:
/// accepting it replaces her password and signs her out of every other session.
#[utoipa::path(tag = "clients", operation_id = "inviteClient", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id")),
    responses((status = 201, description = "Invited", body = NewInvitation),
        (status = 409, description = "She has no email on record", body = crate::error::Problem, content_type = "application/problem+json"),
        NotFound, ReadErrors))]
#[post("/v1/clients/{client_id}/invitation")]
pub async fn invite_client(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let invitation = usecases::clients::invite(&mut conn, &principal, id).await?;
    Ok(HttpResponse::Created().json(invitation))
}
