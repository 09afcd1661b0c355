//! The webhook dispatcher: a background task of the service that claims due deliveries from
//! the outbox, signs and sends them (Standard Webhooks headers), and records the outcome:
//! delivered on a 2xx; otherwise retried with backoff until the retry window closes, when the
//! delivery fails and its endpoint is disabled. Claims are leases in the database, so several
//! copies of the service share the work and a copy that dies mid-send loses nothing: its
//! claims expire and are sent again (at least once; receivers deduplicate on `webhook-id`).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::db::webhooks::{self, Due};
use crate::db::DbPool;
use crate::domain::webhook::{retry_delay, sign};

const BATCH: i64 = 20;
const LEASE_SECS: i64 = 60;
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs until `stop` is notified.
pub async fn run(pool: DbPool, settings: Arc<Settings>, stop: Arc<Notify>) {
    let http = match reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("runback-webhooks/1")
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "webhook dispatcher cannot start");
            return;
        }
    };
    loop {
        let sent = match round(&pool, &settings, &http).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "webhook dispatch round failed");
                0
            }
        };
        // A full batch means more may be due: go again at once.
        if sent as i64 == BATCH {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.webhook_poll) => {}
            _ = stop.notified() => return,
        }
    }
}

async fn round(
    pool: &DbPool,
    settings: &Settings,
    http: &reqwest::Client,
) -> anyhow::Result<usize> {
    let due = {
        let mut conn = pool.get().await?;
        webhooks::claim_due(&mut conn, BATCH, LEASE_SECS).await?
    };
    let count = due.len();
    let outcomes = futures_util::future::join_all(due.into_iter().map(|d| async move {
        let outcome = send(http, &d).await;
        (d, outcome)
    }))
    .await;
    let mut conn = pool.get().await?;
    for (due, outcome) in outcomes {
        match outcome {
            Ok(status) => webhooks::delivered(&mut conn, &due, status).await?,
            Err((status, error)) => {
                let attempt = due.attempts as u32 + 1;
                let retry_at = Utc::now()
                    + chrono::Duration::from_std(retry_delay(
                        settings.webhook_retry_base,
                        attempt,
                    ))?;
                let window_end = due.event_created_at
                    + chrono::Duration::from_std(settings.webhook_retry_window)?;
                let retry_at = (retry_at <= window_end).then_some(retry_at);
                tracing::info!(
                    delivery = %due.id, endpoint = %due.endpoint_id, attempt, status, %error,
                    gives_up = retry_at.is_none(), "webhook delivery failed"
                );
                webhooks::failed(&mut conn, &due, status, &error, retry_at).await?
            }
        }
    }
    Ok(count)
}

/// Sends one message; `Ok(status)` on a 2xx, else the status (if any) and what went wrong.
async fn send(http: &reqwest::Client, due: &Due) -> Result<i32, (Option<i32>, String)> {
    let body = serde_json::to_vec(&due.payload).map_err(|e| (None, e.to_string()))?;
    let id = format!("msg_{}", due.event_id.simple());
    let timestamp = Utc::now().timestamp();
    let signature = sign(&due.secret, &id, timestamp, &body);
    let res = http
        .post(&due.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| (None, format!("not delivered: {}", without_url(&e))))?;
    let status = i32::from(res.status().as_u16());
    if res.status().is_success() {
        Ok(status)
    } else {
        Err((Some(status), format!("the endpoint answered {status}")))
    }
}

/// An error's description without the URL (it may carry credentials in its query).
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "the connection failed".into()
    }
}
