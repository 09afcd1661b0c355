//! Webhooks as the Standard Webhooks specification has them: the events a practice may
//! subscribe to, the signature (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the
//! endpoint's secret), and the retry schedule.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

pub mod events;

/// What an endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// A symptom report opened a new flag in the coach's inbox.
    #[serde(rename = "flag.opened")]
    FlagOpened,
    /// A coach resolved a flag.
    #[serde(rename = "flag.resolved")]
    FlagResolved,
    /// A report with an emergency sign (chest pain, breathlessness at rest, calf pain or
    /// swelling, fainting, a severe headache or visual disturbance, heavy bleeding) opened or
    /// joined a flag: sent at once, besides `flag.opened`, so a practice can page someone.
    #[serde(rename = "flag.emergency")]
    FlagEmergency,
    /// A plan moved: a coach's transition or the engine's own (hold, regress, pause).
    #[serde(rename = "plan.transitioned")]
    PlanTransitioned,
    /// A client (or her coach) sent a symptom report.
    #[serde(rename = "symptom_report.created")]
    SymptomReportCreated,
    /// An import committed (counts; list clients with `updated_since` for the rows).
    #[serde(rename = "client.imported")]
    ClientImported,
    /// A client (or her coach) sent a recovery check-in (its id and day; never her answers).
    #[serde(rename = "check_in.created")]
    CheckInCreated,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::FlagOpened,
        EventType::FlagResolved,
        EventType::FlagEmergency,
        EventType::PlanTransitioned,
        EventType::SymptomReportCreated,
        EventType::ClientImported,
        EventType::CheckInCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::FlagOpened => "flag.opened",
            EventType::FlagResolved => "flag.resolved",
            EventType::FlagEmergency => "flag.emergency",
            EventType::PlanTransitioned => "plan.transitioned",
            EventType::SymptomReportCreated => "symptom_report.created",
            EventType::ClientImported => "client.imported",
            EventType::CheckInCreated => "check_in.created",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|d| d.as_str() == s)
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

/// Whether an address is on the public internet, where webhooks may go. Refused: loopback,
/// private (RFC 1918), link-local (and so the cloud metadata address 169.254.169.254),
/// carrier-grade NAT, unique-local, multicast, broadcast, documentation, benchmarking and
/// reserved ranges, and IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64,
/// 6to4, Teredo), whatever address they carry.
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240) // reserved
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] & 0xffc0) == 0xfec0 // site local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x2001 && s[1] == 0) // Teredo
                || s[0] == 0x2002 // 6to4
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64
                || s[..5] == [0, 0, 0, 0, 0]) // IPv4-mapped and -compatible
        }
    }
}

/// Ports a webhook may be sent to, unless private addresses are allowed (development).
pub const WEBHOOK_PORTS: [u16; 4] = [80, 443, 8080, 8443];

/// Why a webhook URL points inside a network, if it does: an address that is not public, a
/// name that only a local network resolves (`localhost`, a single label, `.local`,
/// `.internal`, …), or a port other than [`WEBHOOK_PORTS`]. Names are checked again at every
/// connection, against the addresses they resolve to then.
pub fn internal_target(url: &url::Url) -> Option<&'static str> {
    let port_ok = url.port().is_none_or(|p| WEBHOOK_PORTS.contains(&p));
    let host = match url.host()? {
        url::Host::Ipv4(v4) => return (!is_public_address(v4.into())).then_some(NOT_PUBLIC),
        url::Host::Ipv6(v6) => return (!is_public_address(v6.into())).then_some(NOT_PUBLIC),
        url::Host::Domain(name) => name.trim_end_matches('.').to_ascii_lowercase(),
    };
    const LOCAL_SUFFIXES: [&str; 7] = [
        ".localhost",
        ".local",
        ".internal",
        ".lan",
        ".home.arpa",
        ".intranet",
        ".corp",
    ];
    if host == "localhost"
        || !host.contains('.')
        || LOCAL_SUFFIXES.iter().any(|s| host.ends_with(s))
    {
        return Some("must name a public host, not a local network name");
    }
    (!port_ok).then_some("must use port 443, 8443, 80 or 8080")
}

const NOT_PUBLIC: &str =
    "must not point to a loopback, private, link-local or otherwise internal address";

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
    fn only_public_addresses_are_targets() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "64:ff9b::a00:1",
            "2002:a00:1::",
        ] {
            assert!(!is_public_address(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "151.101.1.69"] {
            assert!(is_public_address(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_inside_a_network_are_refused() {
        let check = |u: &str| internal_target(&url::Url::parse(u).unwrap());
        for inside in [
            "https://127.0.0.1/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://2130706433/",
            "https://0x7f000001/",
            "https://[::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://localhost/hook",
            "https://api.localhost/hook",
            "https://db/hook",
            "https://printer.local/",
            "https://metadata.google.internal/",
            "https://hooks.example.org:22/",
            "https://hooks.example.org:6379/",
        ] {
            assert!(check(inside).is_some(), "{inside}");
        }
        for outside in [
            "https://hooks.example.org/in",
            "https://hooks.example.org:8443/in",
            "http://hooks.example.org:8080/in",
            "https://93.184.216.34/in",
        ] {
            assert_eq!(check(outside), None, "{outside}");
        }
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
