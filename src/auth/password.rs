//! Password hashing with argon2id (m = 19456 KiB, t = 2, p = 1, OWASP's recommendation).
//! Hashing is deliberately slow, so it always runs on the blocking pool, never on an async
//! worker, and at most one hash per CPU core runs at a time: each takes 19 MiB and a core, so a
//! burst of sign-ins waits its turn instead of multiplying the server's memory.

use std::sync::OnceLock;

use anyhow::Context;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    Ok(hasher()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?
        .to_string())
}

/// A hash of a password nobody knows: an unknown email is verified against it, so it costs
/// the same time as a wrong password and reveals nothing.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("no account has this password").expect("hashing works"))
}

/// One permit per CPU core for the hashing in flight.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    let _slot = hashing_slots().acquire().await.context("hashing slots")?;
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .context("password hashing task")?
}

/// Checks `password` against `stored`; with `None` it checks against a dummy hash and fails,
/// taking the same time.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    let _slot = hashing_slots().acquire().await.context("hashing slots")?;
    tokio::task::spawn_blocking(move || {
        let (phc, real) = match &stored {
            Some(h) => (h.as_str(), true),
            None => (dummy_hash(), false),
        };
        let parsed = PasswordHash::new(phc).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        let ok = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && real)
    })
    .await
    .context("password verification task")?
}

/// Computes the dummy hash ahead of the first login, so that login is not slower.
pub fn warm_up() {
    let _ = dummy_hash();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_argon2id_with_owasp_parameters() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery".into(), Some(h.clone()))
            .await
            .unwrap());
        assert!(!verify("wrong".into(), Some(h)).await.unwrap());
        assert!(!verify("no account has this password".into(), None)
            .await
            .unwrap());
    }
}
