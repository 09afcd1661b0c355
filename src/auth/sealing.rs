//! Secrets the service must read back (webhook signing secrets: the dispatcher signs with them)
//! are kept sealed with AES-256-GCM under a key from the environment (`WEBHOOK_SECRET_KEY`), so
//! a copy of the database alone does not let anyone forge a practice's webhooks.
//!
//! A sealed secret is `1 ‖ key id (4) ‖ nonce (12) ‖ ciphertext and tag`. The key id is the
//! start of the key's SHA-256, so a secret sealed under the previous key
//! (`WEBHOOK_SECRET_PREVIOUS_KEY`, during a rotation) is recognised and resealed. The record's
//! id is the associated data: a sealed secret moved to another endpoint does not open.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const FORMAT: u8 = 1;
const KEY_ID_LEN: usize = 4;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// Why a sealed secret did not open.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unsealed {
    #[error("sealed under a key this service does not hold")]
    UnknownKey,
    #[error("the sealed secret is damaged, or belongs to another record")]
    Damaged,
}

struct Key {
    id: [u8; KEY_ID_LEN],
    key: LessSafeKey,
}

impl Key {
    /// A key from 64 hex digits (`openssl rand -hex 32`); `name` is the setting, for the error.
    fn parse(name: &str, hex_text: &str) -> anyhow::Result<Self> {
        let bytes = hex::decode(hex_text.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{name} must be 64 hex digits (32 bytes; e.g. `openssl rand -hex 32`)"
                )
            })?;
        let digest = Sha256::digest(&bytes);
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| anyhow::anyhow!("{name} is not an AES-256 key"))?;
        Ok(Self {
            id: digest[..KEY_ID_LEN].try_into().expect("four bytes"),
            key: LessSafeKey::new(unbound),
        })
    }
}

/// The current sealing key and, during a rotation, the previous one (it only opens).
pub struct Sealer {
    current: Key,
    previous: Option<Key>,
    random: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("current", &hex::encode(self.current.id))
            .field(
                "previous",
                &self.previous.as_ref().map(|k| hex::encode(k.id)),
            )
            .finish()
    }
}

impl Sealer {
    /// The keys from their settings' text (64 hex digits each).
    pub fn new(current: &str, previous: Option<&str>) -> anyhow::Result<Self> {
        let current = Key::parse("WEBHOOK_SECRET_KEY", current)?;
        let previous = previous
            .map(|p| Key::parse("WEBHOOK_SECRET_PREVIOUS_KEY", p))
            .transpose()?;
        if previous.as_ref().is_some_and(|p| p.id == current.id) {
            anyhow::bail!("WEBHOOK_SECRET_PREVIOUS_KEY is the current key");
        }
        Ok(Self {
            current,
            previous,
            random: SystemRandom::new(),
        })
    }

    /// A new random key as 64 hex digits.
    pub fn generate_key() -> String {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system's random source");
        hex::encode(bytes)
    }

    /// `secret` sealed under the current key, bound to the record `id`.
    pub fn seal(&self, id: Uuid, secret: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .expect("the system's random source");
        let mut sealed = Vec::with_capacity(HEADER_LEN + secret.len() + 16);
        sealed.push(FORMAT);
        sealed.extend_from_slice(&self.current.id);
        sealed.extend_from_slice(&nonce);
        let mut body = secret.as_bytes().to_vec();
        self.current
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(id.as_bytes()),
                &mut body,
            )
            .expect("a secret far below AES-GCM's limit");
        sealed.extend_from_slice(&body);
        sealed
    }

    /// The secret of record `id`, if it opens under one of the keys.
    pub fn open(&self, id: Uuid, sealed: &[u8]) -> Result<String, Unsealed> {
        if sealed.len() < HEADER_LEN + 16 || sealed[0] != FORMAT {
            return Err(Unsealed::Damaged);
        }
        let key_id = &sealed[1..1 + KEY_ID_LEN];
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id == key_id)
            .ok_or(Unsealed::UnknownKey)?;
        let nonce = Nonce::try_assume_unique_for_key(&sealed[1 + KEY_ID_LEN..HEADER_LEN])
            .map_err(|_| Unsealed::Damaged)?;
        let mut body = sealed[HEADER_LEN..].to_vec();
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(id.as_bytes()), &mut body)
            .map_err(|_| Unsealed::Damaged)?;
        String::from_utf8(plain.to_vec()).map_err(|_| Unsealed::Damaged)
    }

    /// Whether `sealed` should be sealed again under the current key.
    pub fn is_stale(&self, sealed: &[u8]) -> bool {
        sealed.get(1..1 + KEY_ID_LEN) != Some(&self.current.id[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        hex::encode([byte; 32])
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_record_and_hides_the_secret() {
        let sealer = Sealer::new(&key(1), None).unwrap();
        let id = Uuid::now_v7();
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sealed = sealer.seal(id, secret);
        assert_eq!(sealer.open(id, &sealed).unwrap(), secret);
        assert!(!sealed
            .windows(8)
            .any(|w| secret.as_bytes().windows(8).any(|s| s == w)));
        // Sealed twice, never the same bytes (a fresh nonce each time).
        assert_ne!(sealer.seal(id, secret), sealed);
        // Moved to another record, it does not open.
        assert_eq!(sealer.open(Uuid::now_v7(), &sealed), Err(Unsealed::Damaged));
        // A flipped bit anywhere after the header fails the tag.
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open(id, &tampered), Err(Unsealed::Damaged));
        assert_eq!(sealer.open(id, &sealed[..10]), Err(Unsealed::Damaged));
        assert!(!sealer.is_stale(&sealed));
    }

    #[test]
    fn a_rotation_opens_the_previous_keys_secrets_and_marks_them_for_resealing() {
        let old = Sealer::new(&key(1), None).unwrap();
        let id = Uuid::now_v7();
        let sealed = old.seal(id, "whsec_old");
        let rotated = Sealer::new(&key(2), Some(&key(1))).unwrap();
        assert_eq!(rotated.open(id, &sealed).unwrap(), "whsec_old");
        assert!(rotated.is_stale(&sealed));
        let resealed = rotated.seal(id, "whsec_old");
        assert!(!rotated.is_stale(&resealed));
        // Without the previous key, an old secret is sealed under a key it does not hold.
        let after = Sealer::new(&key(2), None).unwrap();
        assert_eq!(after.open(id, &sealed), Err(Unsealed::UnknownKey));
        assert_eq!(after.open(id, &resealed).unwrap(), "whsec_old");
    }

    #[test]
    fn keys_are_32_bytes_of_hex_and_the_previous_is_not_the_current() {
        for bad in ["", "abcd", &"z".repeat(64), &key(1)[..62]] {
            let e = Sealer::new(bad, None).unwrap_err().to_string();
            assert!(
                e.contains("WEBHOOK_SECRET_KEY must be 64 hex digits"),
                "{e}"
            );
        }
        let e = Sealer::new(&key(1), Some("short")).unwrap_err().to_string();
        assert!(e.contains("WEBHOOK_SECRET_PREVIOUS_KEY"), "{e}");
        let e = Sealer::new(&key(1), Some(&key(1))).unwrap_err().to_string();
        assert!(e.contains("is the current key"), "{e}");
        let generated = Sealer::generate_key();
        assert_eq!(generated.len(), 64);
        assert!(Sealer::new(&generated, None).is_ok());
        // The debug form shows key ids, never keys.
        let debug = format!("{:?}", Sealer::new(&key(1), None).unwrap());
        assert!(!debug.contains(&key(1)[..16]), "{debug}");
    }
}
