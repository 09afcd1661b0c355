//! Webhooks as the Standard Webhooks specification has them: the events a practice may
//! subscribe to, the signature (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the
//! endpoint's secret), and the retry schedule.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

/// What an endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// A symptom report opened a new flag in the coach's inbox.
    #[serde(rename = "flag.opened")]
    FlagOpened,
    /// A coach resolved a flag.
    #[serde(rename = "flag.resolved")]
    FlagResolved,
    /// A plan moved: a coach's transition or the engine's own (hold, regress, pause).
    #[serde(rename = "plan.transitioned")]
    PlanTransitioned,
    /// A client (or her coach) sent a symptom report.
    #[serde(rename = "symptom_report.created")]
    SymptomReportCreated,
    /// An import committed (counts; list clients with `updated_since` for the rows).
    #[serde(rename = "client.imported")]
    ClientImported,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::FlagOpened,
        EventType::FlagResolved,
        EventType::PlanTransitioned,
        EventType::SymptomReportCreated,
        EventType::ClientImported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::FlagOpened => "flag.opened",
            EventType::FlagResolved => "flag.resolved",
            EventType::PlanTransitioned => "plan.transitioned",
            EventType::SymptomReportCreated => "symptom_report.created",
            EventType::ClientImported => "client.imported",
        }
    }
}

/// The type of the event `POST /v1/webhooks/{id}/test` sends (not subscribable).
pub const TEST_EVENT: &str = "webhook.test";

const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The `webhook-signature` header value for a message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// The delay before retry number `attempt` (1 = the first retry): 1, 6, 60, 360, 1440, 3600
/// and then 7200 times `base` (with the default 5 s: 5 s, 30 s, 5 min, 30 min, 2 h, 5 h, 10 h).
pub fn retry_delay(base: Duration, attempt: u32) -> Duration {
    const FACTORS: [u32; 7] = [1, 6, 60, 360, 1440, 3600, 7200];
    let factor = FACTORS[(attempt.max(1) as usize - 1).min(FACTORS.len() - 1)];
    base * factor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_standard_webhooks_reference_does() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_random_and_prefixed() {
        let (a, b) = (new_secret(), new_secret());
        assert!(a.starts_with("whsec_") && a.len() > 40);
        assert_ne!(a, b);
    }

    #[test]
    fn retries_back_off_to_ten_hours() {
        let base = Duration::from_secs(5);
        assert_eq!(retry_delay(base, 1), Duration::from_secs(5));
        assert_eq!(retry_delay(base, 2), Duration::from_secs(30));
        assert_eq!(retry_delay(base, 3), Duration::from_secs(300));
        assert_eq!(retry_delay(base, 7), Duration::from_secs(36_000));
        assert_eq!(retry_delay(base, 40), Duration::from_secs(36_000));
    }

    #[test]
    fn event_names_match_their_serde_names() {
        for event in EventType::ALL {
            assert_eq!(
                serde_json::to_value(event).unwrap(),
                serde_json::json!(event.as_str())
            );
        }
    }
}
