//! Backups encrypted at rest. `BACKUP_KEY` holds an age key (`AGE-SECRET-KEY-1…`), which
//! writes backups and reads them, or only its public half (`age1…`), with which a service writes
//! backups that it cannot read itself. An encrypted backup is in age's format
//! (`runback-<time>-<version>.dump.age`), so the `age` and `rage` tools open it with the same
//! key. The database's dump is encrypted as `pg_dump` writes it, and decrypted as `pg_restore`
//! reads it: no unencrypted copy is ever on disk.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;

use age::x25519::Identity;
use anyhow::{anyhow, bail, Context};

use crate::config::BackupKey;

/// The secret key that opens `file`, or why there is none.
fn opening<'k>(key: Option<&'k BackupKey>, file: &Path) -> anyhow::Result<&'k Identity> {
    match key {
        Some(BackupKey::Secret(secret)) => Ok(secret),
        Some(BackupKey::Public(_)) => bail!(
            "{} is encrypted and BACKUP_KEY holds only the public key (age1…): set it to the secret key (AGE-SECRET-KEY-1…) to restore; nothing was restored",
            file.display()
        ),
        None => bail!(
            "{} is encrypted: set BACKUP_KEY to the secret key (AGE-SECRET-KEY-1…) it was written for; nothing was restored",
            file.display()
        ),
    }
}

/// Whether a backup file is an encrypted one, by its name.
pub fn is_encrypted(file: &Path) -> bool {
    file.extension().is_some_and(|e| e == "age")
}

/// Reads a child's standard error on a thread of its own, so that a full pipe never stops it.
fn collect(stderr: Option<std::process::ChildStderr>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    })
}

fn spawn(command: &mut Command, stdin: Stdio, stdout: Stdio, what: &str) -> anyhow::Result<Child> {
    command
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {what} (is PostgreSQL's client installed?)"))
}

/// Waits for `child`; its error output when it failed.
fn finished(mut child: Child, errors: JoinHandle<String>, what: &str) -> anyhow::Result<()> {
    let status = child.wait()?;
    let errors = errors.join().unwrap_or_default();
    if !status.success() {
        bail!("{what} failed: {}", errors.trim());
    }
    Ok(())
}

/// Runs `command` (`pg_dump` writing to its standard output) and writes what it prints into
/// `into`, encrypted to `key` as it comes.
pub(super) fn dump_encrypted(
    mut command: Command,
    into: &Path,
    key: &BackupKey,
    what: &str,
) -> anyhow::Result<()> {
    let mut child = spawn(&mut command, Stdio::null(), Stdio::piped(), what)?;
    let errors = collect(child.stderr.take());
    let mut dump = child.stdout.take().expect("a piped standard output");
    let written = (|| -> anyhow::Result<()> {
        let recipient = key.recipient();
        let file =
            std::fs::File::create(into).with_context(|| format!("creating {}", into.display()))?;
        let mut sealed =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))?
                .wrap_output(BufWriter::new(file))?;
        std::io::copy(&mut dump, &mut sealed)?;
        let file = sealed.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    })();
    if written.is_err() {
        let _ = child.kill();
    }
    finished(child, errors, what)?;
    written.context("encrypting the backup")
}

/// `file` opened with `key`, read as plain text; refused (nothing read but its header) when
/// there is no secret key or it is not the one the file was written for.
pub(super) fn decrypting(
    file: &Path,
    key: Option<&BackupKey>,
) -> anyhow::Result<age::stream::StreamReader<BufReader<std::fs::File>>> {
    let secret = opening(key, file)?;
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    age::Decryptor::new(BufReader::new(input))
        .and_then(|d| d.decrypt(std::iter::once(secret as &dyn age::Identity)))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => anyhow!(
                "BACKUP_KEY does not open {}: it was written for another key; nothing was restored",
                file.display()
            ),
            other => anyhow!(
                "{} cannot be decrypted ({other}); nothing was restored",
                file.display()
            ),
        })
}

/// Runs `command` (`pg_restore` reading its standard input) on `file` decrypted with `key`.
/// A key that does not open the file stops before the command starts; a file whose decryption
/// fails part-way (damaged, truncated) stops the command before its input ends, so that it
/// never takes a part for the whole.
pub(super) fn feed_decrypted(
    mut command: Command,
    file: &Path,
    key: Option<&BackupKey>,
    what: &str,
) -> anyhow::Result<()> {
    let mut plain = decrypting(file, key)?;
    let mut child = spawn(&mut command, Stdio::piped(), Stdio::null(), what)?;
    let errors = collect(child.stderr.take());
    let mut stdin = child.stdin.take().expect("a piped standard input");
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match plain.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "{} cannot be decrypted ({e}): it is damaged or incomplete",
                    file.display()
                );
            }
        };
        if stdin.write_all(&chunk[..n]).is_err() {
            break; // The command stopped reading: its own error says why.
        }
    }
    drop(stdin);
    finished(child, errors, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encrypted_backup_is_named_so() {
        assert!(is_encrypted(Path::new(
            "runback-20261207T023000Z-20261206000027.dump.age"
        )));
        assert!(!is_encrypted(Path::new(
            "runback-20261207T023000Z-20261206000027.dump"
        )));
    }
}
