//! The private PostgreSQL server used when no `DATABASE_URL` is given: the machine's own
//! PostgreSQL binaries, a cluster under `<data_dir>/postgres`, reachable only through a Unix
//! socket inside that folder. It is kept between runs and stopped when the service stops.
//!
//! PostgreSQL refuses to run as root; when we are root, the server runs as the `postgres`
//! system user (through `runuser`) and the cluster's folder belongs to that user.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{bail, Context};

/// The one message shown when no database can be had.
pub const NO_DATABASE_HELP: &str = "runback needs PostgreSQL and found none. Either:\n  \
     1. install PostgreSQL (e.g. `apt-get install postgresql`) so runback can start its own private server under ./data, or\n  \
     2. set DATABASE_URL=postgres://user:password@host:5432/runback to use a server you already have, or\n  \
     3. run `docker compose up` to start PostgreSQL and the API together.";

const SYSTEM_USER: &str = "postgres";
const SOCKET_PORT: u16 = 5432;

#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    cluster_dir: PathBuf,
    run_as: Option<&'static str>,
    /// Whether this process started the server (and so stops it).
    started_here: bool,
}

impl EmbeddedPostgres {
    /// Finds the machine's PostgreSQL server binaries: the configured folder if any, else
    /// `pg_config --bindir`, then `PATH`, then `/usr/lib/postgresql/<newest>/bin`.
    pub fn find_bin_dir(configured: Option<&Path>) -> Option<PathBuf> {
        let has_server =
            |dir: &Path| dir.join("postgres").is_file() && dir.join("initdb").is_file();
        if let Some(dir) = configured {
            return has_server(dir).then(|| dir.to_path_buf());
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if out.status.success() && has_server(&dir) {
                return Some(dir);
            }
        }
        if let Some(path) = std::env::var_os("PATH") {
            if let Some(dir) = std::env::split_paths(&path).find(|d| has_server(d)) {
                return Some(dir);
            }
        }
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                Some((version, e.path().join("bin")))
            })
            .filter(|(_, dir)| has_server(dir))
            .collect();
        versions.sort();
        versions.pop().map(|(_, dir)| dir)
    }

    /// Starts the cluster under `data_dir/postgres` (creating it on first use), or attaches to
    /// it when it is already running.
    pub fn start(data_dir: &Path, bin_dir: Option<&Path>) -> anyhow::Result<Self> {
        let Some(bin_dir) = Self::find_bin_dir(bin_dir) else {
            bail!("{NO_DATABASE_HELP}");
        };
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let data_dir = data_dir
            .canonicalize()
            .with_context(|| format!("resolving {}", data_dir.display()))?;
        let run_as = is_root().then_some(SYSTEM_USER);
        let cluster_dir = match run_as {
            Some(user) if !reachable_by(user, &data_dir)? => {
                // A private folder (say, under a 0700 temporary directory) that the server's
                // user cannot enter: keep the cluster in that user's home instead.
                let elsewhere = fallback_cluster_dir(user, &data_dir);
                tracing::warn!(
                    data_dir = %data_dir.display(),
                    cluster = %elsewhere.display(),
                    "the `{user}` user cannot enter the data folder; keeping the PostgreSQL cluster in its home"
                );
                elsewhere
            }
            _ => data_dir.join("postgres"),
        };
        let pg = Self {
            bin_dir,
            cluster_dir,
            run_as,
            started_here: false,
        };
        pg.check_socket_path()?;
        if !pg.cluster_dir.join("PG_VERSION").exists() {
            pg.init_cluster()?;
        }
        pg.write_settings()?;
        if pg.is_running() {
            tracing::info!(cluster = %pg.cluster_dir.display(), "embedded PostgreSQL already running; attaching to it");
            return Ok(pg);
        }
        pg.start_server()?;
        Ok(Self {
            started_here: true,
            ..pg
        })
    }

    /// The URL of database `name` on this server, over its Unix socket.
    pub fn url(&self, name: &str) -> String {
        let dir = self.cluster_dir.to_string_lossy();
        let host = percent_encoding::utf8_percent_encode(&dir, percent_encoding::NON_ALPHANUMERIC);
        format!("postgres:///{name}?host={host}&port={SOCKET_PORT}&user=postgres")
    }

    pub fn cluster_dir(&self) -> &Path {
        &self.cluster_dir
    }

    /// Stops the server if this process started it.
    pub fn stop(&self) {
        if !self.started_here {
            return;
        }
        let data = self.cluster_dir.to_string_lossy().to_string();
        match self.run(
            "pg_ctl",
            &["stop", "-D", &data, "-m", "fast", "-w", "-t", "30"],
        ) {
            Ok(out) if out.status.success() => tracing::info!("embedded PostgreSQL stopped"),
            Ok(out) => tracing::warn!(
                stderr = %String::from_utf8_lossy(&out.stderr),
                "embedded PostgreSQL did not stop cleanly"
            ),
            Err(e) => tracing::warn!(error = %e, "could not stop embedded PostgreSQL"),
        }
    }

    fn check_socket_path(&self) -> anyhow::Result<()> {
        // Unix socket paths are limited to 107 bytes.
        let socket = self.cluster_dir.join(format!(".s.PGSQL.{SOCKET_PORT}"));
        if socket.as_os_str().len() > 100 {
            bail!(
                "the data folder {} is too deep for PostgreSQL's Unix socket; set DATA_DIR to a shorter path or set DATABASE_URL",
                self.cluster_dir.display()
            );
        }
        Ok(())
    }

    fn init_cluster(&self) -> anyhow::Result<()> {
        tracing::info!(cluster = %self.cluster_dir.display(), "creating a private PostgreSQL cluster");
        std::fs::create_dir_all(&self.cluster_dir)?;
        self.hand_over_cluster_dir()?;
        let data = self.cluster_dir.to_string_lossy().to_string();
        let out = self.run(
            "initdb",
            &[
                "-D",
                &data,
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ],
        )?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let conf = self.cluster_dir.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf)?;
        text.push_str("\ninclude_if_exists = 'runback.conf'\n");
        std::fs::write(&conf, text)?;
        Ok(())
    }

    /// Settings rewritten at every start, so a moved project folder still works.
    fn write_settings(&self) -> anyhow::Result<()> {
        let text = format!(
            "# Written by runback at every start.\n\
             listen_addresses = ''\n\
             port = {SOCKET_PORT}\n\
             unix_socket_directories = '{}'\n\
             unix_socket_permissions = 0700\n\
             max_connections = 200\n\
             shared_buffers = 128MB\n",
            self.cluster_dir.to_string_lossy().replace('\'', "''")
        );
        let path = self.cluster_dir.join("runback.conf");
        std::fs::write(&path, text)?;
        self.hand_over(&path)?;
        Ok(())
    }

    fn is_running(&self) -> bool {
        let data = self.cluster_dir.to_string_lossy().to_string();
        self.run("pg_ctl", &["status", "-D", &data])
            .map(|out| out.status.success())
            .unwrap_or(false)
    }

    fn start_server(&self) -> anyhow::Result<()> {
        let data = self.cluster_dir.to_string_lossy().to_string();
        let log = self.cluster_dir.join("server.log");
        let log = log.to_string_lossy().to_string();
        let out = self.run(
            "pg_ctl",
            &["start", "-D", &data, "-l", &log, "-w", "-t", "60"],
        )?;
        if !out.status.success() {
            // Another process may have started it at the same moment.
            if self.is_running() {
                return Ok(());
            }
            let tail = std::fs::read_to_string(self.cluster_dir.join("server.log"))
                .map(|t| t.lines().rev().take(5).collect::<Vec<_>>().join("\n"))
                .unwrap_or_default();
            bail!(
                "the embedded PostgreSQL did not start: {}\n{tail}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        tracing::info!(cluster = %self.cluster_dir.display(), "embedded PostgreSQL started");
        Ok(())
    }

    fn hand_over_cluster_dir(&self) -> anyhow::Result<()> {
        if self.run_as.is_some() {
            self.hand_over(&self.cluster_dir)?;
            std::fs::set_permissions(
                &self.cluster_dir,
                std::os::unix::fs::PermissionsExt::from_mode(0o700),
            )?;
        }
        Ok(())
    }

    /// Gives a path to the user the server runs as.
    fn hand_over(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(user) = self.run_as {
            let status = Command::new("chown")
                .args(["-R", &format!("{user}:"), &path.to_string_lossy()])
                .status()
                .context("chown")?;
            if !status.success() {
                bail!("could not give {} to the `{user}` user", path.display());
            }
        }
        Ok(())
    }

    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<Output> {
        let binary = self.bin_dir.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&binary);
                c
            }
            None => Command::new(&binary),
        };
        command
            .args(args)
            .current_dir(self.cluster_dir.parent().unwrap_or(Path::new("/")))
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("running {}", binary.display()))
    }
}

/// Whether `user` may enter `dir` (every folder on its path).
fn reachable_by(user: &str, dir: &Path) -> anyhow::Result<bool> {
    let out = Command::new("runuser")
        .args(["-u", user, "--", "test", "-x"])
        .arg(dir)
        .output()
        .context("running `runuser` (needed to start PostgreSQL as root)")?;
    Ok(out.status.success())
}

/// `~user/runback-clusters/<digest of the data folder's path>`: one cluster per project folder.
fn fallback_cluster_dir(user: &str, data_dir: &Path) -> PathBuf {
    let home = Command::new("getent")
        .args(["passwd", user])
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .split(':')
                .nth(5)
                .map(|h| PathBuf::from(h.trim()))
        })
        .filter(|h| h.is_dir())
        .unwrap_or_else(|| PathBuf::from("/var/lib/postgresql"));
    let digest = crate::fingerprint::hex(data_dir.to_string_lossy().as_bytes());
    home.join("runback-clusters").join(&digest[..16])
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_points_at_the_socket_folder_only() {
        let pg = EmbeddedPostgres {
            bin_dir: PathBuf::from("/usr/bin"),
            cluster_dir: PathBuf::from("/srv/run back/data/postgres"),
            run_as: None,
            started_here: false,
        };
        let url = pg.url("runback");
        assert!(url.starts_with("postgres:///runback?host=%2Fsrv%2Frun%20back%2Fdata%2Fpostgres"));
        assert!(!url.contains("localhost"));
    }

    #[test]
    fn help_names_the_three_ways_out() {
        assert!(NO_DATABASE_HELP.contains("install PostgreSQL"));
        assert!(NO_DATABASE_HELP.contains("DATABASE_URL"));
        assert!(NO_DATABASE_HELP.contains("docker compose up"));
    }
}
