//! Connections to PostgreSQL, over TLS when `DATABASE_URL` asks for it, the way libpq reads
//! `sslmode` and `sslrootcert`:
//!
//! - `disable`: plain TCP (and always for a Unix socket);
//! - `prefer` (the default for a Unix socket or a loopback host, as in libpq): TLS when the
//!   server offers it, else plain; the certificate is not checked;
//! - no `sslmode` and a remote host (neither loopback nor a Unix socket): `require`, and the
//!   log says so at start — a managed server across a network is never reached in plain text
//!   by default;
//! - `require`: TLS or no connection; the certificate is not checked, unless `sslrootcert` is
//!   given (then as `verify-ca`, as libpq does);
//! - `verify-ca`: TLS, the certificate signed by an authority of `sslrootcert`;
//! - `verify-full`: `verify-ca`, and the certificate names the host connected to.
//!
//! An explicit mode is never lowered: `require`, `verify-ca` or `verify-full` with a Unix
//! socket (`host=/…`), which carries no TLS, is refused at start as contradictory.
//!
//! `sslrootcert` is a PEM file of authorities, or `system` for the public web's (Mozilla's)
//! list, which some managed services' certificates chain to. TLS is rustls, with the `ring`
//! provider the service already links for webhooks.

use std::path::PathBuf;
use std::sync::Arc;

use diesel::ConnectionError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "disable" => Self::Disable,
            // libpq's `allow` tries plain first; plain-then-TLS is not offered here: prefer TLS.
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(format!(
                "sslmode={other:?} is not one of disable, prefer, require, verify-ca, verify-full"
            ))
            }
        })
    }
}

/// Where the authorities that may sign the server's certificate come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    File(PathBuf),
    System,
}

/// A database URL read for connecting: the URL without the TLS parameters (for the PostgreSQL
/// driver), and what they asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub mode: SslMode,
    pub roots: Option<Roots>,
    /// No `sslmode` was given and the host is remote: `require` was chosen (worth a log line).
    pub required_by_default: bool,
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, String> {
        let mut parsed = url::Url::parse(url).map_err(|e| format!("not a valid URL: {e}"))?;
        let (mut mode, mut roots) = (None, None);
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter_map(|(k, v)| match k.as_ref() {
                "sslmode" => {
                    mode = Some(v.into_owned());
                    None
                }
                "sslrootcert" => {
                    roots = Some(v.into_owned());
                    None
                }
                _ => Some((k.into_owned(), v.into_owned())),
            })
            .collect();
        parsed.set_query(None);
        if !kept.is_empty() {
            parsed.query_pairs_mut().extend_pairs(kept);
        }
        let unix_socket = parsed.host_str().is_none_or(str::is_empty)
            || parsed
                .query_pairs()
                .any(|(k, v)| k == "host" && v.starts_with('/'));
        // `postgres:` is not a special scheme to the URL parser: its host comes as text.
        let loopback = parsed.host_str().is_some_and(|host| {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        let explicit = mode.as_deref().map(SslMode::parse).transpose()?;
        let roots = roots.map(|r| {
            if r == "system" {
                Roots::System
            } else {
                Roots::File(PathBuf::from(r))
            }
        });
        let required_by_default = explicit.is_none() && !unix_socket && !loopback;
        let mut mode = match explicit {
            Some(mode) => mode,
            None if required_by_default => SslMode::Require,
            None => SslMode::Prefer,
        };
        if unix_socket {
            if matches!(
                explicit,
                Some(SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull)
            ) {
                return Err(format!(
                    "sslmode={} asks for TLS, but the URL connects through a Unix socket (host=/…), which carries none: remove one of them",
                    mode.as_str()
                ));
            }
            mode = SslMode::Disable;
        } else if mode == SslMode::Require && roots.is_some() {
            mode = SslMode::VerifyCa;
        }
        if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) && roots.is_none() {
            return Err(
                "sslmode=verify-ca and verify-full need sslrootcert (a PEM file of the authorities that sign the server's certificate, or `system`)".into(),
            );
        }
        Ok(Self {
            url: parsed.to_string(),
            mode,
            roots,
            required_by_default,
        })
    }
}

/// Opens one connection to the database at `url`, over TLS as its `sslmode` asks.
pub async fn connect(url: &str) -> Result<AsyncPgConnection, ConnectionError> {
    let target = Target::parse(url).map_err(ConnectionError::BadConnection)?;
    if target.mode == SslMode::Disable {
        return AsyncPgConnection::establish(&target.url).await;
    }
    let mut config: tokio_postgres::Config = target
        .url
        .parse()
        .map_err(|e: tokio_postgres::Error| ConnectionError::BadConnection(e.to_string()))?;
    config.ssl_mode(if target.mode == SslMode::Prefer {
        tokio_postgres::config::SslMode::Prefer
    } else {
        tokio_postgres::config::SslMode::Require
    });
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(
        client_config(target.mode, target.roots.as_ref())
            .map_err(ConnectionError::BadConnection)?,
    );
    let (client, connection) = config
        .connect(tls)
        .await
        .map_err(|e| ConnectionError::BadConnection(explain(target.mode, &e)))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

/// The driver's error, with what a certificate refusal means in this mode.
fn explain(mode: SslMode, e: &tokio_postgres::Error) -> String {
    use std::error::Error;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    let why = if text.contains("NotValidForName") || text.contains("not valid for name") {
        Some("the server's certificate names another host than the one in DATABASE_URL (sslmode=verify-full)")
    } else if text.contains("UnknownIssuer") {
        Some("the server's certificate is not signed by an authority in sslrootcert")
    } else if text.contains("server does not support TLS") {
        Some("the server does not offer TLS, and sslmode asks for it")
    } else {
        None
    };
    match why {
        Some(why) => format!("{why} ({mode:?}): {text}"),
        None => text,
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(mode: SslMode, roots: Option<&Roots>) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider())))
            .with_no_client_auth(),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let store = Arc::new(root_store(roots.ok_or("sslrootcert is required")?)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(store, provider())
                .build()
                .map_err(|e| e.to_string())?;
            if mode == SslMode::VerifyFull {
                builder.with_webpki_verifier(webpki).with_no_client_auth()
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AnyName(webpki)))
                    .with_no_client_auth()
            }
        }
    };
    Ok(config)
}

fn root_store(roots: &Roots) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::System => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Roots::File(path) => {
            use rustls::pki_types::pem::PemObject;
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "sslrootcert {} holds no certificate",
                    path.display()
                ));
            }
            for cert in certs {
                store
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
        }
    }
    Ok(store)
}

/// `prefer` and `require`: encrypted, the certificate unchecked (as libpq); the handshake's
/// signatures are still verified.
#[derive(Debug)]
struct Unchecked(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted authority; the name in it is not compared.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_read_and_taken_out_of_the_url() {
        let t = Target::parse(
            "postgres://app:pw@db.example.org:5432/runback?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=api",
        )
        .unwrap();
        assert_eq!(t.mode, SslMode::VerifyFull);
        assert_eq!(t.roots, Some(Roots::File("/etc/ca.pem".into())));
        assert_eq!(
            t.url,
            "postgres://app:pw@db.example.org:5432/runback?application_name=api"
        );
        // A remote host with no sslmode requires TLS (security review finding 4; libpq would
        // prefer it).
        let t = Target::parse("postgres://db.example.org/runback").unwrap();
        assert_eq!((t.mode, t.roots), (SslMode::Require, None));
        let t = Target::parse("postgres://db/runback?sslmode=require&sslrootcert=system").unwrap();
        assert_eq!(
            t.mode,
            SslMode::VerifyCa,
            "require with a root is verify-ca"
        );
        assert_eq!(t.roots, Some(Roots::System));
        let t = Target::parse("postgres://db/runback?sslmode=disable").unwrap();
        assert_eq!(t.mode, SslMode::Disable);
    }

    /// Security review finding 4: `sslmode=verify-full` with a `host=/…` parameter silently
    /// became plain text. An explicit mode is never lowered: the contradiction is refused.
    #[test]
    fn a_unix_socket_never_uses_tls_and_an_explicit_tls_mode_with_one_is_refused() {
        for mode in ["require", "verify-full&sslrootcert=/etc/ca.pem"] {
            let url =
                format!("postgres://db.example.org/runback?host=/run/postgresql&sslmode={mode}");
            let err = Target::parse(&url).unwrap_err();
            assert!(err.contains("Unix socket"), "{err}");
        }
        for url in [
            "postgres:///runback?host=/run/postgresql&user=postgres",
            "postgres:///runback?host=/run/postgresql&sslmode=prefer",
            "postgres:///runback?host=/run/postgresql&sslmode=disable",
        ] {
            assert_eq!(Target::parse(url).unwrap().mode, SslMode::Disable, "{url}");
        }
        assert!(Target::parse("postgres://db/runback?sslmode=verify-full")
            .unwrap_err()
            .contains("sslrootcert"));
        assert!(Target::parse("postgres://db/runback?sslmode=maybe")
            .unwrap_err()
            .contains("maybe"));
    }

    #[test]
    fn a_remote_host_without_sslmode_requires_tls_and_a_local_one_prefers_it() {
        let t = Target::parse("postgres://app@db.example.org:5432/runback").unwrap();
        assert_eq!((t.mode, t.required_by_default), (SslMode::Require, true));
        for local in [
            "postgres://postgres@127.0.0.1:5432/runback",
            "postgres://postgres@localhost/runback",
            "postgres://postgres@[::1]:5432/runback",
        ] {
            let t = Target::parse(local).unwrap();
            assert_eq!(
                (t.mode, t.required_by_default),
                (SslMode::Prefer, false),
                "{local}"
            );
        }
        // An explicit mode stays as asked.
        let t = Target::parse("postgres://db.example.org/runback?sslmode=prefer").unwrap();
        assert_eq!((t.mode, t.required_by_default), (SslMode::Prefer, false));
    }
}
