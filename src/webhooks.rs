//! The webhook dispatcher: a background task of the service that claims due deliveries from
//! the outbox, signs and sends them (Standard Webhooks headers), and records the outcome:
//! delivered on a 2xx; otherwise retried with backoff until the retry window closes, when the
//! delivery fails and its endpoint is disabled. Claims are leases in the database, so several
//! copies of the service share the work and a copy that dies mid-send loses nothing: its
//! claims expire and are sent again (at least once; receivers deduplicate on `webhook-id`).
//!
//! One practice cannot hold up another's: sends run side by side (at most
//! [`MAX_IN_FLIGHT`], and [`MAX_PER_ENDPOINT`] to one endpoint), each is recorded the moment it
//! ends, and every claim takes organizations in turns. A client's events reach an endpoint one
//! at a time, in order, retries included.
//!
//! Webhooks only go to the public internet: every name is resolved at connect time and an
//! address that is loopback, private, link-local or otherwise internal is refused (so DNS
//! rebinding gets nowhere), unless `WEBHOOK_ALLOW_PRIVATE` is set for development. The
//! delivery log says only what class of failure happened, never what answered inside.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::auth::sealing::Sealer;
use crate::config::Settings;
use crate::db::webhooks::{self, Due};
use crate::db::DbPool;
use crate::domain::webhook::{is_public_address, retry_delay, sign};

/// Sends in flight at once, over all endpoints.
pub const MAX_IN_FLIGHT: usize = 32;
/// Sends in flight at once to one endpoint.
pub const MAX_PER_ENDPOINT: i32 = 4;
const LEASE_SECS: i64 = 60;
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an outcome's recording is tried again while the database is away; with the send's
/// timeout, well inside the lease.
const RECORD_FOR: Duration = Duration::from_secs(30);
const _: () = assert!(SEND_TIMEOUT.as_secs() + RECORD_FOR.as_secs() + 10 < LEASE_SECS as u64);
const REFUSED: &str = "refused: the address is not public";

/// How a name becomes addresses (the system resolver, or a test's).
pub type Lookup = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>
        + Send
        + Sync,
>;

/// The system's resolver.
pub fn system_lookup() -> Lookup {
    Arc::new(|name: String| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    })
}

/// A name that resolved only to addresses webhooks may not reach.
#[derive(Debug)]
struct NotPublic;

impl std::fmt::Display for NotPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REFUSED)
    }
}

impl std::error::Error for NotPublic {}

/// Resolves names for the webhook client, keeping only public addresses.
struct PublicOnly {
    allow_private: bool,
    lookup: Lookup,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (allow_private, lookup) = (self.allow_private, self.lookup.clone());
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = lookup(name)
                .await?
                .into_iter()
                .filter(|ip| allow_private || is_public_address(*ip))
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(NotPublic) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client deliveries are sent with.
pub fn http_client(allow_private: bool, lookup: Lookup) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        // Never through an HTTP(S)_PROXY from the environment: a proxy would connect for us,
        // past the address check below.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("runback-webhooks/1")
        .dns_resolver(Arc::new(PublicOnly {
            allow_private,
            lookup,
        }))
        .build()
}

type Outcome = (Due, Result<i32, (Option<i32>, String)>);

/// Seals the signing secrets stored before sealing, and reseals those sealed under the previous
/// key (`WEBHOOK_SECRET_PREVIOUS_KEY`); how many were sealed. Run at start: several instances
/// starting at once each seal a secret at most once between them. A secret that opens under
/// neither key is left as it is and named in the log; its deliveries fail until the key that
/// sealed it is given back (one practice's endpoint never stops the service).
pub async fn seal_stored(pool: &DbPool, sealer: &Sealer) -> anyhow::Result<usize> {
    let mut conn = pool.get().await?;
    let mut sealed = 0;
    for (id, was, plain) in webhooks::stored_secrets(&mut conn).await? {
        let secret = match (&was, plain) {
            (Some(s), _) if !sealer.is_stale(s) => continue,
            (Some(s), _) => match sealer.open(id, s) {
                Ok(secret) => secret,
                Err(e) => {
                    tracing::error!(endpoint = %id, error = %e, "a webhook signing secret does not open; its deliveries will fail");
                    continue;
                }
            },
            (None, Some(plain)) => plain,
            (None, None) => continue,
        };
        let new = sealer.seal(id, &secret);
        sealed += webhooks::store_sealed(&mut conn, id, was.as_deref(), &new).await?;
    }
    Ok(sealed)
}

/// The secret a delivery is signed with; a sealed one that does not open fails the send (never
/// an unsigned message).
fn signing_secret(sealer: &Sealer, due: &Due) -> Result<String, String> {
    match (&due.secret_sealed, &due.secret) {
        (Some(sealed), _) => sealer.open(due.endpoint_id, sealed).map_err(|e| {
            tracing::error!(endpoint = %due.endpoint_id, error = %e, "a webhook signing secret does not open");
            format!("signing secret unavailable: {e}")
        }),
        (None, Some(plain)) => Ok(plain.clone()),
        (None, None) => Err("signing secret unavailable".into()),
    }
}

/// Runs until `stop` is notified, then lets the sends in flight finish.
pub async fn run(pool: DbPool, settings: Arc<Settings>, sealer: Arc<Sealer>, stop: Arc<Notify>) {
    let allow_private = settings.webhook_allow_private;
    let http = match http_client(allow_private, system_lookup()) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "webhook dispatcher cannot start");
            return;
        }
    };
    let mut sending: JoinSet<Outcome> = JoinSet::new();
    let mut in_flight: HashMap<Uuid, i32> = HashMap::new();
    let mut stopping = false;
    loop {
        while let Some(done) = sending.try_join_next() {
            finish(&pool, &settings, &mut in_flight, done).await;
        }
        let room = MAX_IN_FLIGHT - sending.len();
        if !stopping && room > 0 {
            match claim(&pool, room, &in_flight).await {
                Ok(due) => {
                    for d in due {
                        *in_flight.entry(d.endpoint_id).or_default() += 1;
                        let http = http.clone();
                        let secret = signing_secret(&sealer, &d);
                        sending.spawn(async move {
                            let outcome = match secret {
                                Ok(secret) => send(&http, &d, &secret, allow_private).await,
                                Err(e) => Err((None, e)),
                            };
                            (d, outcome)
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
            }
        }
        if stopping && sending.is_empty() {
            return;
        }
        tokio::select! {
            Some(done) = sending.join_next(), if !sending.is_empty() => {
                finish(&pool, &settings, &mut in_flight, done).await;
            }
            _ = tokio::time::sleep(settings.webhook_poll), if !stopping => {}
            _ = stop.notified(), if !stopping => stopping = true,
        }
    }
}

async fn claim(
    pool: &DbPool,
    room: usize,
    in_flight: &HashMap<Uuid, i32>,
) -> anyhow::Result<Vec<Due>> {
    let (busy, counts): (Vec<Uuid>, Vec<i32>) = in_flight.iter().map(|(k, v)| (*k, *v)).unzip();
    let mut conn = pool.get().await?;
    Ok(webhooks::claim_due(
        &mut conn,
        webhooks::Claim {
            limit: room as i64,
            lease_secs: LEASE_SECS,
            per_endpoint: MAX_PER_ENDPOINT,
            busy_endpoints: &busy,
            busy_counts: &counts,
        },
    )
    .await?)
}

/// Records how one send ended.
async fn finish(
    pool: &DbPool,
    settings: &Settings,
    in_flight: &mut HashMap<Uuid, i32>,
    done: Result<Outcome, tokio::task::JoinError>,
) {
    let Ok((due, outcome)) = done else {
        // A send that panicked: its lease expires and it is sent again.
        tracing::error!("a webhook send ended abnormally");
        return;
    };
    if let Some(n) = in_flight.get_mut(&due.endpoint_id) {
        *n -= 1;
        if *n <= 0 {
            in_flight.remove(&due.endpoint_id);
        }
    }
    // The database may be away (a restart) just as a send ends: try again for a while. The
    // delivery's lease keeps every dispatcher from sending it again for LEASE_SECS after it was
    // claimed, so an outcome recorded within RECORD_FOR of the send's end (the send itself
    // takes at most SEND_TIMEOUT) is never sent twice.
    let ended = std::time::Instant::now();
    loop {
        match record(pool, settings, &due, outcome.clone()).await {
            Ok(()) => return,
            Err(e) if ended.elapsed() < RECORD_FOR => {
                tracing::info!(error = %e, delivery = %due.id, "recording a webhook delivery; trying again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, delivery = %due.id, "recording a webhook delivery failed; it will be sent again");
                return;
            }
        }
    }
}

async fn record(
    pool: &DbPool,
    settings: &Settings,
    due: &Due,
    outcome: Result<i32, (Option<i32>, String)>,
) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    match outcome {
        Ok(status) => webhooks::delivered(&mut conn, due, status).await?,
        Err((status, error)) => {
            let attempt = due.attempts as u32 + 1;
            let retry_at = Utc::now()
                + chrono::Duration::from_std(retry_delay(settings.webhook_retry_base, attempt))?;
            let window_end =
                due.event_created_at + chrono::Duration::from_std(settings.webhook_retry_window)?;
            let retry_at = (retry_at <= window_end).then_some(retry_at);
            tracing::info!(
                delivery = %due.id, endpoint = %due.endpoint_id, attempt, status, %error,
                gives_up = retry_at.is_none(), "webhook delivery failed"
            );
            webhooks::failed(&mut conn, due, status, &error, retry_at).await?
        }
    }
    Ok(())
}

/// Sends one message; `Ok(status)` on a 2xx, else the status (if any) and what went wrong.
async fn send(
    http: &reqwest::Client,
    due: &Due,
    secret: &str,
    allow_private: bool,
) -> Result<i32, (Option<i32>, String)> {
    // An address in the URL is connected to without resolving: check it here.
    let literal = url::Url::parse(&due.url).ok().and_then(|u| match u.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    });
    if literal.is_some_and(|ip| !allow_private && !is_public_address(ip)) {
        return Err((None, REFUSED.into()));
    }
    let body = serde_json::to_vec(&due.payload).map_err(|e| (None, e.to_string()))?;
    let id = format!("msg_{}", due.event_id.simple());
    let timestamp = Utc::now().timestamp();
    let signature = sign(secret, &id, timestamp, &body);
    let res = http
        .post(&due.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| (None, failure_class(&e)))?;
    let status = i32::from(res.status().as_u16());
    if res.status().is_success() {
        Ok(status)
    } else {
        Err((Some(status), format!("the endpoint answered {status}")))
    }
}

/// What class of failure an error is, and nothing more (never the URL, which may carry
/// credentials in its query, nor what a network said).
fn failure_class(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        if err.is::<NotPublic>() {
            return REFUSED.into();
        }
        source = err.source();
    }
    if e.is_timeout() {
        "not delivered: timed out".into()
    } else if e.is_connect() {
        "not delivered: could not connect".into()
    } else {
        "not delivered: the connection failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolver that answers every name with these addresses, as a rebinding DNS would.
    fn answering(ips: Vec<IpAddr>) -> Lookup {
        Arc::new(move |_| {
            let ips = ips.clone();
            Box::pin(async move { Ok(ips) })
        })
    }

    async fn listener() -> (tokio::net::TcpListener, u16) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        (l, port)
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_a_private_address_is_refused_before_connecting() {
        let (l, port) = listener().await;
        let client = http_client(false, answering(vec!["127.0.0.1".parse().unwrap()])).unwrap();
        let err = client
            .post(format!("http://hooks.example.org:{port}/in"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(failure_class(&err), REFUSED);
        // Nothing reached the listener.
        let accepted = tokio::time::timeout(Duration::from_millis(200), l.accept()).await;
        assert!(accepted.is_err(), "a connection was made");
    }

    #[tokio::test]
    async fn no_answer_that_is_not_public_is_tried() {
        let (_l, port) = listener().await;
        let client = http_client(
            false,
            answering(vec![
                "10.0.0.5".parse().unwrap(),
                "169.254.169.254".parse().unwrap(),
                "::ffff:127.0.0.1".parse().unwrap(),
            ]),
        )
        .unwrap();
        let err = client
            .post(format!("http://hooks.example.org:{port}/in"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(failure_class(&err), REFUSED);
    }

    #[tokio::test]
    async fn development_may_allow_private_addresses() {
        let (l, port) = listener().await;
        let client = http_client(true, answering(vec!["127.0.0.1".parse().unwrap()])).unwrap();
        let send = tokio::spawn(async move {
            client
                .post(format!("http://hooks.example.org:{port}/in"))
                .timeout(Duration::from_millis(500))
                .send()
                .await
        });
        let accepted = tokio::time::timeout(Duration::from_secs(2), l.accept()).await;
        assert!(accepted.is_ok(), "allowed: the connection is made");
        let _ = send.await;
    }
}
