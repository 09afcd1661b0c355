//! Fingerprints: the SHA-256 of a request body, an idempotency key with its body, a throttle's
//! key, a data directory. A fingerprint tells two inputs apart without keeping them; it is not a
//! secret's stored form (that is `auth::secrets::digest`).

use sha2::{Digest, Sha256};

/// The SHA-256 of a text, as bytes (what the database stores).
pub fn of(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

/// The SHA-256 of some bytes, as hex (to put inside another fingerprint or a name).
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_inputs_apart_and_repeat() {
        assert_eq!(of("a"), of("a"));
        assert_ne!(of("a"), of("b"));
        assert_eq!(of("a").len(), 32);
        assert_eq!(hex(b"a"), hex::encode(of("a")));
    }
}
