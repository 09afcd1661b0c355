//! Checking an import's rows in batches (the values, the coaches, the programs, the rows already there) and writing each batch in one statement per table.

use super::super::clients::{merge_patch, ClientInput};
use super::super::extract::{nul_path, NUL_MESSAGE};
use super::rows::{take_string, too_many_rows, RowData, Rows};
use super::{MAX_ERRORS_SHOWN, MAX_ROWS};
use crate::db::clients::{Client, ClientFields};
use crate::db::{audit, imports, programs};
use crate::domain::identity::Principal;
use crate::domain::identity::Role;
use crate::domain::plan::Step;
use crate::error::{ApiError, FieldError};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

use crate::domain::ids::{ClientId, OrganizationId, UserId};

/// A new client's values for the audit trail, leaving out what was not given.
pub(super) fn without_nulls(fields: &ClientFields) -> Value {
    match serde_json::to_value(fields) {
        Ok(Value::Object(map)) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        _ => Value::Null,
    }
}

/// Bad rows: the first 1,000 problems, how many in all, and which rows.
#[derive(Default)]
pub(super) struct Problems {
    pub(super) shown: Vec<FieldError>,
    pub(super) count: usize,
    pub(super) failed_rows: HashSet<u64>,
}

impl Problems {
    pub(super) fn add(&mut self, e: FieldError) {
        self.count += 1;
        if let Some(row) = e.row {
            self.failed_rows.insert(row);
        }
        if self.shown.len() < MAX_ERRORS_SHOWN {
            self.shown.push(e);
        }
    }
}

/// A row ready to write.
pub(super) struct Prepared {
    pub(super) row: u64,
    pub(super) fields: ClientFields,
    pub(super) existing: Option<Client>,
    pub(super) program: Option<String>,
}

/// One chunk's rows, validated and ready to write, with their audit entries.
pub(super) struct Batch {
    pub(super) created: Vec<(ClientId, ClientFields)>,
    pub(super) created_events: Vec<(Uuid, Value)>,
    pub(super) updated: Vec<(ClientId, ClientFields)>,
    pub(super) updated_events: Vec<(Uuid, Value)>,
    /// (client, program, version, stage, level) for each plan to start.
    pub(super) plans: Vec<(ClientId, Uuid, i32, String, Option<i32>)>,
    /// New clients with a program (what a dry run reports as plans started).
    pub(super) new_with_program: u64,
}

/// The state of validating an import a chunk at a time: what earlier chunks held (external
/// ids, emails), the coaches and programs rows may name, the bad rows and the counts.
pub(super) struct Validation<'a> {
    pub(super) principal: &'a Principal,
    pub(super) headers: &'a [String],
    pub(super) today: chrono::NaiveDate,
    pub(super) coaches: HashMap<String, UserId>,
    pub(super) coach_ids: HashSet<UserId>,
    pub(super) seen: HashSet<String>,
    pub(super) batch_emails: HashSet<String>,
    pub(super) program_steps: HashMap<String, Option<(Uuid, i32, Step)>>,
    pub(super) problems: Problems,
    pub(super) total: u64,
    pub(super) created: u64,
    pub(super) updated: u64,
    pub(super) unchanged: u64,
}

impl<'a> Validation<'a> {
    /// Nothing read yet, for `principal`'s import with these columns, her organization's
    /// coaches by email.
    pub(super) fn new(
        principal: &'a Principal,
        headers: &'a [String],
        coaches: HashMap<String, UserId>,
    ) -> Self {
        Validation {
            principal,
            headers,
            today: Utc::now().date_naive(),
            coach_ids: coaches.values().copied().collect(),
            coaches,
            seen: HashSet::new(),
            batch_emails: HashSet::new(),
            program_steps: HashMap::new(),
            problems: Problems::default(),
            total: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
        }
    }

    /// Reads and validates the next chunk of rows; `None` once the body is done. Lookups go
    /// through `conn`, which sees what is committed: rows of this import that come later
    /// cannot depend on what earlier rows wrote, since an external id and an email may each
    /// appear once in an import (checked here, across chunks).
    pub(super) async fn next_batch(
        &mut self,
        conn: &mut AsyncPgConnection,
        rows: &mut std::iter::Peekable<Rows<'_>>,
    ) -> Result<Option<Batch>, ApiError> {
        if rows.peek().is_none() {
            return Ok(None);
        }
        let chunk = self.read_chunk(rows)?;
        // Rows holding U+0000 are refused below; PostgreSQL could not even look them up.
        let external_ids: Vec<String> = chunk
            .iter()
            .filter_map(|(_, data)| data.external_id(self.headers))
            .filter(|x| !x.contains('\0'))
            .collect();
        let existing: HashMap<String, Client> =
            imports::existing_by_external_id(conn, self.principal.organization_id, &external_ids)
                .await?
                .into_iter()
                .filter_map(|c| c.external_id.clone().map(|x| (x, c)))
                .collect();
        let mut prepared: Vec<Prepared> = Vec::with_capacity(chunk.len());
        for (row, data) in chunk {
            let map = data.into_map(self.headers);
            match self.prepare(row, map, &existing) {
                Ok(p) => prepared.push(p),
                Err(es) => es.into_iter().for_each(|e| self.problems.add(e)),
            }
        }
        let kept = self.unique_and_known(conn, prepared).await?;
        Ok(Some(self.batch(kept)))
    }

    /// The next chunk of rows that could be read; the others are problems.
    fn read_chunk(
        &mut self,
        rows: &mut std::iter::Peekable<Rows<'_>>,
    ) -> Result<Vec<(u64, RowData)>, ApiError> {
        let mut chunk = Vec::with_capacity(imports::CHUNK);
        for (row, parsed) in rows.by_ref().take(imports::CHUNK) {
            self.total += 1;
            if self.total > MAX_ROWS as u64 {
                return Err(too_many_rows());
            }
            match parsed {
                Ok(data) => chunk.push((row, data)),
                Err(e) => self.problems.add(e),
            }
        }
        Ok(chunk)
    }

    /// One row as a client's new values (merged onto her record when her external id is known),
    /// with its coach and program, or what is wrong with it.
    fn prepare(
        &mut self,
        row: u64,
        mut map: Map<String, Value>,
        existing: &HashMap<String, Client>,
    ) -> Result<Prepared, Vec<FieldError>> {
        let at = |e: FieldError| vec![e.at_row(row)];
        if let Some(field) = map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(k.clone())
            } else {
                nul_path(v, k.clone())
            }
        }) {
            return Err(at(FieldError::new(field, NUL_MESSAGE)));
        }
        let coach_email = take_string(&mut map, "coach_email", row).map_err(|e| vec![e])?;
        let program = take_string(&mut map, "program", row).map_err(|e| vec![e])?;
        let external_id = match map.get("external_id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            _ => return Err(at(FieldError::new("external_id", "is required to import"))),
        };
        if !self.seen.insert(external_id.clone()) {
            return Err(at(FieldError::new(
                "external_id",
                "appears twice in this import",
            )));
        }
        let before = existing.get(&external_id);
        let input = merged_input(before, map).map_err(at)?;
        let mut fields = input
            .validate(self.today, self.principal.user_id, before)
            .map_err(|errs| errs.into_iter().map(|e| e.at_row(row)).collect::<Vec<_>>())?;
        fields.coach_id = self
            .coach_of(coach_email, fields.coach_id, before)
            .map_err(at)?;
        Ok(Prepared {
            row,
            fields,
            existing: before.cloned(),
            program,
        })
    }

    /// The row's coach: by `coach_email`, or its `coach_id`, each an active coach of the
    /// organization; a coach imports her own clients only.
    fn coach_of(
        &self,
        coach_email: Option<String>,
        coach_id: Option<UserId>,
        before: Option<&Client>,
    ) -> Result<Option<UserId>, FieldError> {
        let principal = self.principal;
        let coach = match (coach_email, coach_id) {
            (Some(email), _) => {
                Some(*self.coaches.get(&email.to_lowercase()).ok_or_else(|| {
                    FieldError::new("coach_email", "is not an active coach of this organization")
                })?)
            }
            (None, Some(id)) if self.coach_ids.contains(&id) => Some(id),
            (None, Some(_)) => {
                return Err(FieldError::new(
                    "coach_id",
                    "is not an active coach of this organization",
                ))
            }
            (None, None) => None,
        };
        if principal.role != Role::Coach {
            return Ok(coach);
        }
        if coach.is_some_and(|id| id != principal.user_id) {
            return Err(FieldError::new(
                "coach_email",
                "a coach imports clients for herself only",
            ));
        }
        if before.is_some_and(|c| c.coach_id != Some(principal.user_id)) {
            return Err(FieldError::new(
                "external_id",
                "belongs to a client of another coach",
            ));
        }
        Ok(Some(principal.user_id))
    }

    /// The rows whose email no other client of the organization (or row of this import) has,
    /// and whose program is one of the organization's.
    async fn unique_and_known(
        &mut self,
        conn: &mut AsyncPgConnection,
        prepared: Vec<Prepared>,
    ) -> Result<Vec<Prepared>, ApiError> {
        let organization_id = self.principal.organization_id;
        let emails: Vec<String> = prepared
            .iter()
            .filter_map(|p| p.fields.email.as_ref().map(|e| e.to_lowercase()))
            .collect();
        let owners: HashMap<String, Option<String>> =
            imports::emails_in_use(conn, organization_id, &emails)
                .await?
                .into_iter()
                .collect();
        let mut kept = Vec::with_capacity(prepared.len());
        for p in prepared {
            if let Some(email) = p.fields.email.as_ref().map(|e| e.to_lowercase()) {
                let taken = owners
                    .get(&email)
                    .is_some_and(|owner| owner.as_ref() != p.fields.external_id.as_ref());
                if taken || !self.batch_emails.insert(email) {
                    self.problems.add(
                        FieldError::new(
                            "email",
                            "another client of this organization has this email",
                        )
                        .at_row(p.row),
                    );
                    continue;
                }
            }
            if let Some(key) = &p.program {
                if !self.program_steps.contains_key(key) {
                    let step = first_step(conn, organization_id, key).await?;
                    self.program_steps.insert(key.clone(), step);
                }
                if self.program_steps[key].is_none() {
                    self.problems.add(
                        FieldError::new("program", "is not a program key of this organization")
                            .at_row(p.row),
                    );
                    continue;
                }
            }
            kept.push(p);
        }
        Ok(kept)
    }

    /// The kept rows as the batch to write: new clients, changed ones (an unchanged one is
    /// only counted), their audit events, and the plans to start.
    fn batch(&mut self, kept: Vec<Prepared>) -> Batch {
        let mut batch = Batch {
            created: Vec::new(),
            created_events: Vec::new(),
            updated: Vec::new(),
            updated_events: Vec::new(),
            plans: Vec::new(),
            new_with_program: 0,
        };
        for p in kept {
            let client_id = match &p.existing {
                None => {
                    let id = ClientId::generate();
                    batch.new_with_program += u64::from(p.program.is_some());
                    batch.created_events.push((
                        id.0,
                        audit::scrub_except(&without_nulls(&p.fields), audit::CLIENT_VALUES_KEPT),
                    ));
                    id
                }
                Some(before) => before.id,
            };
            if let Some((program_id, version, step)) = p
                .program
                .as_ref()
                .and_then(|key| self.program_steps.get(key)?.as_ref())
            {
                batch.plans.push((
                    client_id,
                    *program_id,
                    *version,
                    step.stage.as_str().to_string(),
                    step.level.map(|l| l as i32),
                ));
            }
            match &p.existing {
                None => batch.created.push((client_id, p.fields)),
                Some(before) => {
                    let changes = audit::diff(&ClientFields::from(before), &p.fields);
                    if changes.as_object().is_some_and(|c| c.is_empty()) {
                        self.unchanged += 1;
                    } else {
                        batch.updated.push((client_id, p.fields));
                        batch.updated_events.push((
                            client_id.0,
                            audit::scrub_except(&changes, audit::CLIENT_VALUES_KEPT),
                        ));
                    }
                }
            }
        }
        self.created += batch.created.len() as u64;
        self.updated += batch.updated.len() as u64;
        batch
    }
}

/// A row's values over her record's (an update changes only what the row gives), read as a
/// client's input; a field the input does not have, or a value of the wrong type, is named.
fn merged_input(
    before: Option<&Client>,
    map: Map<String, Value>,
) -> Result<ClientInput, FieldError> {
    let mut merged = match before {
        Some(c) => serde_json::to_value(ClientInput::from_client(c)).unwrap_or_default(),
        None => Value::Object(Map::new()),
    };
    merge_patch(&mut merged, Value::Object(map));
    crate::api::extract::integral_floats_as_integers(&mut merged);
    serde_path_to_error::deserialize(merged).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| {
                message.starts_with("unknown field") || message.starts_with("missing field")
            })
            .map(str::to_string)
            .unwrap_or(path);
        FieldError::new(field, message)
    })
}

/// Where a plan of the program with this key starts, if the organization has one.
async fn first_step(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    key: &str,
) -> Result<Option<(Uuid, i32, Step)>, ApiError> {
    let Some(program) = programs::find_by_key(conn, organization_id, key).await? else {
        return Ok(None);
    };
    let version = programs::find(conn, organization_id, program.id, None).await?;
    Ok(version
        .stages
        .first()
        .map(|first| (program.id, version.version, Step::start_of(first))))
}

/// Writes a validated chunk in set-based statements; returns how many plans it started.
pub(super) async fn write_batch(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    today: chrono::NaiveDate,
    batch: Batch,
) -> Result<u64, ApiError> {
    let organization_id = principal.organization_id;
    let created: Vec<(ClientId, &ClientFields)> =
        batch.created.iter().map(|(id, f)| (*id, f)).collect();
    imports::insert_clients(conn, organization_id, &created)
        .await
        .map_err(|e| {
            if crate::db::clients::duplicate_of(&e).is_some() {
                ApiError::Conflict(
                    "Another import added some of these clients at the same time; retry.".into(),
                )
            } else {
                e.into()
            }
        })?;
    let updated: Vec<(ClientId, &ClientFields)> =
        batch.updated.iter().map(|(id, f)| (*id, f)).collect();
    imports::update_clients(conn, organization_id, &updated).await?;
    imports::record_audit_events(
        conn,
        organization_id,
        principal.actor(),
        "client.import.create",
        "client",
        &batch.created_events,
    )
    .await?;
    imports::record_audit_events(
        conn,
        organization_id,
        principal.actor(),
        "client.import.update",
        "client",
        &batch.updated_events,
    )
    .await?;
    let made = imports::start_plans(conn, organization_id, &batch.plans, today).await?;
    let plan_events: Vec<(Uuid, Value)> = made
        .iter()
        .map(|(plan, client)| {
            (
                *plan,
                serde_json::json!({"client_id": client, "source": "import"}),
            )
        })
        .collect();
    imports::record_audit_events(
        conn,
        organization_id,
        principal.actor(),
        "plan.assign",
        "plan",
        &plan_events,
    )
    .await?;
    Ok(made.len() as u64)
}
