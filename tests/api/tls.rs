//! TLS to PostgreSQL, against a private cluster this test owns with `ssl = on` and a
//! certificate made for it (for `localhost`, signed by a test authority): `verify-full` with
//! the right authority and name connects, and the service runs on it; a certificate for another
//! name or from an unknown authority is refused, saying which; `require` needs no root.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use runback::db::embedded::EmbeddedPostgres;

use crate::helpers::start_app;

fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian package `openssl`)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test authority, another one, and a server certificate for `localhost` (no IP address in
/// it, so connecting to 127.0.0.1 by address is connecting to "another host").
fn make_certificates(dir: &Path) {
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.crt"),
                "-subj",
                &format!("/CN=runback test {ca}"),
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName = DNS:localhost\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
}

/// Runs `pg_ctl` on the cluster (as `postgres` when the tests run as root).
fn pg_ctl(cluster: &Path, args: &[&str]) {
    let bin = EmbeddedPostgres::find_bin_dir(None).expect("PostgreSQL binaries");
    let mut cmd = if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join("pg_ctl"));
        c
    } else {
        Command::new(bin.join("pg_ctl"))
    };
    let out = cmd.args(args).arg("-D").arg(cluster).output().unwrap();
    assert!(
        out.status.success() || args[0] == "stop",
        "pg_ctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Stops the cluster and removes its folder however the test ends.
struct Cluster {
    dir: PathBuf,
    data: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        pg_ctl(&self.data, &["stop", "-m", "immediate"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the connection's own session is encrypted, as the server sees it.
async fn encrypted(conn: &mut AsyncPgConnection) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Ssl>(conn)
        .await
        .unwrap()
        .ssl
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_service_verifies_the_database_server_it_talks_to() {
    let dir = std::env::temp_dir().join(format!(
        "rb-tls-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let pg = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, None))
            .await
            .unwrap()
            .expect("a private PostgreSQL cluster")
    };
    let cluster = Cluster {
        dir: dir.clone(),
        data: pg.cluster_dir().to_path_buf(),
    };
    // The server's key and certificate in its own folder, owned by the server's user.
    make_certificates(&dir);
    for file in ["server.crt", "server.key"] {
        std::fs::copy(dir.join(file), cluster.data.join(file)).unwrap();
        if as_root() {
            let out = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(cluster.data.join(file))
                .output()
                .unwrap();
            assert!(out.status.success());
        }
    }
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            cluster.data.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    // TLS on a TCP port of its own (settings in postgresql.auto.conf, read last).
    let port = free_port();
    {
        let mut conn = AsyncPgConnection::establish(&pg.url("postgres"))
            .await
            .unwrap();
        for setting in [
            "ALTER SYSTEM SET ssl = on".to_string(),
            "ALTER SYSTEM SET ssl_cert_file = 'server.crt'".into(),
            "ALTER SYSTEM SET ssl_key_file = 'server.key'".into(),
            "ALTER SYSTEM SET listen_addresses = '127.0.0.1'".into(),
            format!("ALTER SYSTEM SET port = {port}"),
            "CREATE DATABASE runback".into(),
        ] {
            diesel::sql_query(setting).execute(&mut conn).await.unwrap();
        }
    }
    let log = cluster
        .data
        .join("server.log")
        .to_string_lossy()
        .to_string();
    pg_ctl(
        &cluster.data,
        &["restart", "-m", "fast", "-w", "-t", "60", "-l", &log],
    );

    let ca = dir.join("ca.crt").to_string_lossy().to_string();
    let other_ca = dir.join("other-ca.crt").to_string_lossy().to_string();
    let url =
        |host: &str, params: &str| format!("postgres://postgres@{host}:{port}/runback?{params}");
    // verify-full, the right authority and the certificate's name: encrypted.
    let full = url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let mut conn = runback::db::tls::connect(&full).await.expect("verify-full");
    assert!(encrypted(&mut conn).await, "the connection is encrypted");
    drop(conn);

    // Another host's name: refused, saying so.
    let err = runback::db::tls::connect(&url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await
    .err()
    .expect("a certificate for another name is refused")
    .to_string();
    assert!(err.contains("names another host"), "{err}");

    // An authority that did not sign it: refused, saying so.
    let err = runback::db::tls::connect(&url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={other_ca}"),
    ))
    .await
    .err()
    .expect("an unknown authority is refused")
    .to_string();
    assert!(
        err.contains("not signed by an authority in sslrootcert"),
        "{err}"
    );

    // verify-ca checks the authority, not the name; require checks neither, and needs no root.
    for ok in [
        url("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}")),
        url("127.0.0.1", "sslmode=require"),
        url("127.0.0.1", ""),
    ] {
        let mut conn = runback::db::tls::connect(&ok).await.expect(&ok);
        assert!(encrypted(&mut conn).await, "{ok} is encrypted");
    }
    let mut plain = runback::db::tls::connect(&url("127.0.0.1", "sslmode=disable"))
        .await
        .unwrap();
    assert!(!encrypted(&mut plain).await, "disable is plain");
    drop(plain);

    // The service itself: migrations and every pooled connection over verify-full.
    runback::db::run_migrations(&full)
        .await
        .expect("migrations over TLS");
    let app = start_app(
        full.clone(),
        "runback".into(),
        url("127.0.0.1", "sslmode=disable").replace("/runback?", "/postgres?"),
        |_| {},
    )
    .await;
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    assert_eq!(
        app.get("/v1/organization", Some(&admin.token))
            .await
            .status(),
        200,
        "requests are served over the TLS pool"
    );
    drop(app);
    drop(cluster);
}
