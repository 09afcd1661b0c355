//! Access tokens: short-lived JWTs (HS256) verified without touching the database.
//! Each key has a `kid` derived from it, so during a rotation tokens signed with the previous
//! key (`JWT_PREVIOUS_SECRET`) stay valid until they expire; only tokens it issued before the
//! configured instant it was retired (`JWT_PREVIOUS_SECRET_UNTIL`), so a leaked previous key
//! cannot mint new ones, whenever the service restarts, and is useless 15 minutes after the
//! rotation. A token issued in the future, or expiring before it was issued, is refused.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::identity::Role;
use crate::domain::ids::{ClientId, OrganizationId, UserId};

pub const ISSUER: &str = "runback";
pub const AUDIENCE: &str = "runback-api";
/// Clock skew tolerated between servers.
pub const LEEWAY_SECS: u64 = 30;
pub const MIN_SECRET_BYTES: usize = 32;
/// The longest an access token may live (15 minutes); a token claiming more is refused.
pub const MAX_TTL_SECS: i64 = 900;
/// The least entropy, in bits, a secret must show (estimated from its characters).
pub const MIN_SECRET_BITS: f64 = 128.0;

/// Files of this project that show example secrets: a secret found in any of them is public.
const PUBLISHED_FILES: &[&str] = &[
    include_str!("../../docker-compose.yml"),
    include_str!("../../README.md"),
    include_str!("../../Dockerfile"),
    include_str!("../../bench/run"),
    include_str!("../../bench/import"),
    include_str!("../../tests/api/helpers.rs"),
    include_str!("jwt.rs"),
];

/// Entropy of a secret in bits, estimated from how often each character appears in it
/// (Shannon). Random base64 or hex of 32 bytes shows 190–250; a word repeated, far less.
pub fn estimated_bits(secret: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in secret.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = secret.chars().count() as f64;
    let per_char: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum();
    per_char * n
}

/// Refuses a secret that anyone could know: shorter than 32 bytes, low in entropy, or shown in
/// this project's own files (the compose file's example, the test suite's, the benchmarks').
pub fn check_secret(name: &str, secret: &str) -> anyhow::Result<()> {
    if secret.len() < MIN_SECRET_BYTES {
        anyhow::bail!("{name} must be at least {MIN_SECRET_BYTES} bytes long");
    }
    if PUBLISHED_FILES.iter().any(|file| file.contains(secret)) {
        anyhow::bail!(
            "{name} is an example secret published with runback; make a private one (e.g. `openssl rand -base64 48`)"
        );
    }
    let bits = estimated_bits(secret);
    if bits < MIN_SECRET_BITS {
        anyhow::bail!(
            "{name} looks guessable (about {bits:.0} bits of entropy, {MIN_SECRET_BITS:.0} needed); make a random one (e.g. `openssl rand -base64 48`)"
        );
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: UserId,
    pub org: OrganizationId,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
    /// A client's own record, for her tokens (`{client_id}` = `me`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<ClientId>,
}

struct Key {
    kid: String,
    decoding: DecodingKey,
}

pub struct JwtKeys {
    current_kid: String,
    encoding: EncodingKey,
    verifying: Vec<Key>,
    validation: Validation,
    ttl: Duration,
    /// Tokens signed with the previous key must have been issued before this (seconds).
    previous_issued_before: i64,
    verified: VerifiedTokens,
}

/// Tokens this process has verified, by the SHA-256 digest of the whole token, each kept only
/// until its own `exp`: a caller's next request skips the signature and the two JSON decodes.
/// A token that differs in any byte has another digest and is verified in full. The claims say
/// who the caller is, never what she may see now: revocation (`auth::validity`) and the access
/// policy are still checked on every request.
pub struct VerifiedTokens {
    entries: RwLock<HashMap<[u8; 32], Claims>>,
    capacity: usize,
}

impl VerifiedTokens {
    /// At most this many tokens are kept (about 300 bytes each).
    pub const CAPACITY: usize = 65_536;

    pub fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    fn digest(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The claims of a token verified before, while `now` (seconds) is before its `exp`.
    pub fn get(&self, token: &str, now: i64) -> Option<Claims> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&Self::digest(token))
            .filter(|claims| now < claims.exp)
            .cloned()
    }

    /// Keeps a verified token's claims. When full, the expired entries go first; if none has
    /// expired, all go (the next requests verify in full again).
    pub fn put(&self, token: &str, claims: &Claims, now: i64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, kept| now < kept.exp);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(Self::digest(token), claims.clone());
    }

    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The key id of a secret, sent in the `kid` header of the tokens it signs.
pub fn kid_of(secret: &str) -> String {
    hex::encode(&Sha256::digest(secret.as_bytes())[..8])
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid")]
    Invalid,
}

impl JwtKeys {
    /// Keys signing with `secret`, and verifying too with `previous`: a retired secret and the
    /// instant it was retired (tokens it issued at or after that are refused).
    pub fn new(
        secret: &str,
        previous: Option<(&str, chrono::DateTime<Utc>)>,
        ttl: Duration,
    ) -> anyhow::Result<Self> {
        let previous_issued_before = previous.map_or(i64::MIN, |(_, until)| until.timestamp());
        let previous = previous.map(|(s, _)| s);
        for s in std::iter::once(secret).chain(previous) {
            if s.len() < MIN_SECRET_BYTES {
                anyhow::bail!("JWT secrets must be at least {MIN_SECRET_BYTES} bytes long");
            }
        }
        let verifying = std::iter::once(secret)
            .chain(previous)
            .map(|s| Key {
                kid: kid_of(s),
                decoding: DecodingKey::from_secret(s.as_bytes()),
            })
            .collect();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Ok(Self {
            current_kid: kid_of(secret),
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            verifying,
            validation,
            ttl,
            previous_issued_before,
            verified: VerifiedTokens::new(VerifiedTokens::CAPACITY),
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(
        &self,
        user_id: UserId,
        organization_id: OrganizationId,
        role: Role,
        client_id: Option<ClientId>,
    ) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            org: organization_id,
            role,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: Uuid::now_v7(),
            cid: client_id,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current_kid.clone());
        Ok(encode(&header, &claims, &self.encoding)?)
    }

    /// The claims of a token signed by one of the keys, unexpired and within its rules; from
    /// [`VerifiedTokens`] when this process verified the same token before.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        // Tokens are a few hundred bytes; anything huge is rejected before parsing.
        if token.len() > 4096 {
            return Err(TokenError::Invalid);
        }
        let now = Utc::now().timestamp();
        if let Some(claims) = self.verified.get(token, now) {
            return Ok(claims);
        }
        let claims = self.verify_in_full(token)?;
        self.verified.put(token, &claims, now);
        Ok(claims)
    }

    fn verify_in_full(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let key = self
            .verifying
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::Invalid)?;
        let claims = decode::<Claims>(token, &key.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        if claims.exp - claims.iat > MAX_TTL_SECS || claims.exp <= claims.iat {
            return Err(TokenError::Invalid);
        }
        if claims.iat > Utc::now().timestamp() + LEEWAY_SECS as i64 {
            return Err(TokenError::Invalid);
        }
        if key.kid != self.current_kid && claims.iat >= self.previous_issued_before {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "an-access-token-secret-of-32-bytes!!";
    const OTHER: &str = "another-access-token-secret-32-bytes!";

    /// Keys with `previous` retired now.
    fn keys(secret: &str, previous: Option<&str>) -> JwtKeys {
        let previous = previous.map(|p| (p, Utc::now()));
        JwtKeys::new(secret, previous, Duration::from_secs(900)).unwrap()
    }

    /// A token `k` issues to a new user of a new organization.
    fn issued(k: &JwtKeys, role: Role) -> String {
        k.issue(UserId::generate(), OrganizationId::generate(), role, None)
            .unwrap()
    }

    #[test]
    fn issued_tokens_verify_with_all_claims() {
        let k = keys(SECRET, None);
        let (user, org) = (UserId::generate(), OrganizationId::generate());
        let claims = k
            .verify(&k.issue(user, org, Role::Coach, None).unwrap())
            .unwrap();
        assert_eq!(
            (claims.sub, claims.org, claims.role),
            (user, org, Role::Coach)
        );
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(
            (claims.iss.as_str(), claims.aud.as_str()),
            (ISSUER, AUDIENCE)
        );
    }

    #[test]
    fn guessable_and_published_secrets_are_refused() {
        let random = crate::auth::secrets::generate("");
        assert!(check_secret("JWT_SECRET", &random).is_ok(), "{random}");
        assert!(
            check_secret("JWT_SECRET", &"ab".repeat(20)).is_err(),
            "low entropy"
        );
        assert!(check_secret("JWT_SECRET", "short").is_err());
        for published in [
            "change-me-to-a-secret-of-at-least-32-bytes",
            "test-secret-that-is-at-least-32-bytes-long",
            "bench-secret-bench-secret-bench-secret-42",
        ] {
            let err = check_secret("JWT_SECRET", published)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("published") || err.contains("guessable"),
                "{err}"
            );
        }
        assert!(estimated_bits("0123456789abcdef") > 63.0 && estimated_bits("aaaa") == 0.0);
    }

    #[test]
    fn the_previous_key_verifies_only_tokens_issued_before_the_rotation() {
        let old = keys(OTHER, None);
        let before = issued(&old, Role::Admin);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let rotated = keys(SECRET, Some(OTHER));
        assert!(rotated.verify(&before).is_ok());
        // Minted with the previous key after the rotation: refused.
        let after = issued(&old, Role::Admin);
        assert_eq!(rotated.verify(&after), Err(TokenError::Invalid));
    }

    #[test]
    fn a_token_claiming_a_long_life_is_refused() {
        let k = JwtKeys::new(SECRET, None, Duration::from_secs(3600)).unwrap();
        let token = issued(&k, Role::Admin);
        assert_eq!(k.verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtKeys::new("short", None, Duration::from_secs(60)).is_err());
    }

    #[test]
    fn another_key_is_rejected_but_the_previous_key_still_verifies() {
        let old = keys(OTHER, None);
        let token = issued(&old, Role::Admin);
        assert_eq!(keys(SECRET, None).verify(&token), Err(TokenError::Invalid));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(keys(SECRET, Some(OTHER)).verify(&token).is_ok());
    }

    #[test]
    fn a_verified_token_is_kept_until_its_own_expiry_and_no_longer() {
        let k = keys(SECRET, None);
        let token = issued(&k, Role::Coach);
        assert!(k.verified.is_empty());
        let claims = k.verify(&token).unwrap();
        assert_eq!(k.verified.len(), 1);
        // The second verification is served from memory, with the same claims.
        assert_eq!(k.verify(&token).unwrap(), claims);
        assert_eq!(k.verified.len(), 1);
        assert_eq!(k.verified.get(&token, claims.exp - 1), Some(claims.clone()));
        assert_eq!(k.verified.get(&token, claims.exp), None);
        assert_eq!(k.verified.get("another token", claims.iat), None);
    }

    #[test]
    fn a_token_altered_after_it_was_verified_is_verified_in_full_and_refused() {
        let k = keys(SECRET, None);
        let token = issued(&k, Role::Client);
        k.verify(&token).unwrap();
        let mut altered = token.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(k.verify(&altered), Err(TokenError::Invalid));
        assert_eq!(k.verify(&format!("{token} ")), Err(TokenError::Invalid));
        assert_eq!(k.verified.len(), 1);
    }

    #[test]
    fn the_verified_tokens_stay_within_their_capacity() {
        let kept = VerifiedTokens::new(3);
        let k = keys(SECRET, None);
        let claims = k.verify(&issued(&k, Role::Admin)).unwrap();
        let now = claims.iat;
        let expired = Claims {
            exp: now - 1,
            ..claims.clone()
        };
        kept.put("a", &expired, now);
        kept.put("b", &claims, now);
        kept.put("c", &claims, now);
        // Full: the expired entry makes room.
        kept.put("d", &claims, now);
        assert_eq!(kept.len(), 3);
        assert_eq!(kept.get("b", now), Some(claims.clone()));
        // Full of live entries: all go, then the new one is kept.
        kept.put("e", &claims, now);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept.get("e", now), Some(claims));
        assert_eq!(kept.get("b", now), None);
    }

    #[test]
    fn tampered_and_unsigned_tokens_are_rejected() {
        let k = keys(SECRET, None);
        let token = issued(&k, Role::Client);
        let parts: Vec<&str> = token.split('.').collect();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut payload: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        payload["role"] = "admin".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64.encode(payload.to_string()),
            parts[2]
        );
        assert_eq!(k.verify(&forged), Err(TokenError::Invalid));
        let none_header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            k.verify(&format!("{none_header}.{}.", parts[1])),
            Err(TokenError::Invalid)
        );
        assert_eq!(k.verify("garbage"), Err(TokenError::Invalid));
    }

    /// Security review finding 5: the retired key's cutoff was the process start, so after
    /// every restart it could mint tokens for another 15 minutes. The cutoff is the configured
    /// instant the key was retired, whenever the service starts.
    #[test]
    fn the_previous_key_is_cut_off_at_its_configured_instant_not_at_start() {
        let old = keys(OTHER, None);
        let minted = issued(&old, Role::Admin);
        let retired_an_hour_ago = Utc::now() - chrono::Duration::hours(1);
        let restarted = JwtKeys::new(
            SECRET,
            Some((OTHER, retired_an_hour_ago)),
            Duration::from_secs(900),
        )
        .unwrap();
        assert_eq!(restarted.verify(&minted), Err(TokenError::Invalid));
        let retired_later = Utc::now() + chrono::Duration::minutes(5);
        let staged = JwtKeys::new(
            SECRET,
            Some((OTHER, retired_later)),
            Duration::from_secs(900),
        )
        .unwrap();
        assert!(staged.verify(&minted).is_ok());
    }

    #[test]
    fn a_token_issued_in_the_future_or_expiring_before_it_was_issued_is_refused() {
        let k = keys(SECRET, None);
        let sign = |iat: i64, exp: i64| {
            let claims = Claims {
                sub: UserId::generate(),
                org: OrganizationId::generate(),
                role: Role::Admin,
                iss: ISSUER.into(),
                aud: AUDIENCE.into(),
                iat,
                nbf: Utc::now().timestamp() - 1,
                exp,
                jti: Uuid::now_v7(),
                cid: None,
            };
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(k.current_kid.clone());
            encode(&header, &claims, &k.encoding).unwrap()
        };
        let now = Utc::now().timestamp();
        assert!(k.verify(&sign(now, now + 600)).is_ok());
        assert_eq!(
            k.verify(&sign(now + 3600, now + 3900)),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            k.verify(&sign(now + 10, now + 10)),
            Err(TokenError::Invalid)
        );
        assert_eq!(k.verify(&sign(now + 20, now + 5)), Err(TokenError::Invalid));
    }
}
