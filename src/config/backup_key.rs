//! `BACKUP_KEY`: an age key (`AGE-SECRET-KEY-1…`), which writes encrypted backups and reads
//! them, or only its public half (`age1…`), with which a service writes backups that it cannot
//! read itself. Parsed with the other settings, so that a mistyped key stops the service at
//! start rather than the first backup at night; `backup` encrypts and decrypts with it.

use age::secrecy::ExposeSecret;
use age::x25519::{Identity, Recipient};
use anyhow::{anyhow, bail};

/// What `BACKUP_KEY` may hold, said whenever it holds something else. It never repeats the
/// value: a mistyped key is still a secret.
const KEY_HELP: &str =
    "BACKUP_KEY holds an age key (AGE-SECRET-KEY-1…, from `runback backup-key` or `age-keygen`) \
     or only its public half (age1…, to write backups this service cannot read)";

/// The key of encrypted backups (`BACKUP_KEY`).
#[derive(Clone)]
pub enum BackupKey {
    /// The secret key: writes backups and reads them.
    Secret(Identity),
    /// The public half only: writes backups; reading them takes the secret key.
    Public(Recipient),
}

impl std::str::FromStr for BackupKey {
    type Err = anyhow::Error;

    /// One key, alone or as `age-keygen` writes its file (comment lines starting with `#`).
    fn from_str(text: &str) -> anyhow::Result<Self> {
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let [line] = lines.as_slice() else {
            bail!("{KEY_HELP}; it holds {} keys", lines.len());
        };
        if line.starts_with("AGE-SECRET-KEY-1") {
            line.parse()
                .map(Self::Secret)
                .map_err(|e| anyhow!("{KEY_HELP}; this secret key is not one ({e})"))
        } else if line.starts_with("age1") {
            line.parse()
                .map(Self::Public)
                .map_err(|e| anyhow!("{KEY_HELP}; this public key is not one ({e})"))
        } else {
            bail!("{KEY_HELP}")
        }
    }
}

impl std::fmt::Debug for BackupKey {
    /// The public half only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Self::Secret(_) => "secret key",
            Self::Public(_) => "public key",
        };
        write!(f, "BackupKey({kind} for {})", self.recipient())
    }
}

impl BackupKey {
    /// A new secret key, as `age-keygen` writes it: its public half in a comment, then the key.
    pub fn generate() -> String {
        let secret = Identity::generate();
        format!(
            "# public key: {}\n{}\n",
            secret.to_public(),
            secret.to_string().expose_secret()
        )
    }

    /// The public half, to which backups are encrypted.
    pub fn recipient(&self) -> Recipient {
        match self {
            Self::Secret(secret) => secret.to_public(),
            Self::Public(public) => public.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_key_is_a_secret_key_or_its_public_half_and_never_shown() {
        let generated = BackupKey::generate();
        let key: BackupKey = generated.parse().expect("a generated key, comment and all");
        let secret = generated.lines().nth(1).unwrap();
        let public = generated
            .lines()
            .next()
            .unwrap()
            .strip_prefix("# public key: ")
            .unwrap();
        assert!(matches!(key, BackupKey::Secret(_)));
        assert_eq!(key.recipient().to_string(), public);
        let debug = format!("{key:?}");
        assert!(!debug.contains(secret) && debug.contains(public), "{debug}");

        let half: BackupKey = public.parse().unwrap();
        assert!(matches!(half, BackupKey::Public(_)));
        assert_eq!(half.recipient().to_string(), public);

        let mut mistyped = secret.to_string();
        let last = mistyped.pop().unwrap();
        mistyped.push(if last == 'Q' { 'P' } else { 'Q' });
        for wrong in ["", "hunter2", &mistyped, &format!("{secret}\n{secret}")] {
            let error = wrong.parse::<BackupKey>().unwrap_err().to_string();
            assert!(error.starts_with("BACKUP_KEY holds an age key"), "{error}");
            assert!(
                !error.contains(&secret[20..]),
                "the key is not repeated: {error}"
            );
        }
    }
}
