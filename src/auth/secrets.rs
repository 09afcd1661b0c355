//! Opaque secrets (refresh tokens, invitation tokens, service tokens): random, shown once,
//! stored only as a SHA-256 hash. They carry a prefix so a leaked one is recognisable and a
//! service token can be told from a JWT at a glance.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const REFRESH_PREFIX: &str = "rbr_";
pub const INVITATION_PREFIX: &str = "rbi_";
pub const SERVICE_TOKEN_PREFIX: &str = "rbs_";

/// A new secret: the prefix and 32 random bytes, base64url.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The stored form of a secret. The secrets are high-entropy, so a fast hash is enough.
pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_prefixed_and_hashed() {
        let a = generate(SERVICE_TOKEN_PREFIX);
        let b = generate(SERVICE_TOKEN_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with("rbs_"));
        assert_eq!(a.len(), 4 + 43);
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), digest(&b));
    }
}
