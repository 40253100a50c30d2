//! https for `send`: rustls (with ring) trusting the platform's root certificates plus
//! any `--cacert`, or nothing at all with `--insecure`; and certificate failures put in
//! plain words.

use std::path::{Path, PathBuf};

use rustls::CertificateError;
use rustls::pki_types::CertificateDer;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};

use crate::{Failure, warn};

/// How `send` checks the server's certificate.
pub enum Trust<'a> {
    /// The platform's roots and these PEM files' certificates (`--cacert`).
    Roots(&'a [PathBuf]),
    /// No check at all (`--insecure`).
    Insecure,
}

/// The TLS configuration for a URL: `None` for http:// (warning that --cacert and
/// --insecure do not apply), the configuration for https://, a usage error otherwise.
pub fn for_uri(
    uri: &http::Uri,
    url: &str,
    cacert: &[PathBuf],
    insecure: bool,
) -> Result<Option<TlsConfig>, Failure> {
    let host = uri.host().unwrap_or("the server");
    match uri.scheme_str() {
        Some("http") => {
            if !cacert.is_empty() {
                warn("--cacert only applies to https:// URLs; ignored");
            }
            if insecure {
                warn("--insecure only applies to https:// URLs; ignored");
            }
            Ok(None)
        }
        Some("https") => {
            let trust = if insecure { Trust::Insecure } else { Trust::Roots(cacert) };
            Ok(Some(config(&trust, host)?))
        }
        _ => Err(Failure::usage(format!(
            "bad URL `{url}`: expected http://host[:port]/path or https://host[:port]/path"
        ))),
    }
}

/// The TLS configuration for an https delivery to `host`, warning on stderr when
/// verification is off or when the platform has no roots.
pub fn config(trust: &Trust<'_>, host: &str) -> Result<TlsConfig, Failure> {
    let builder = TlsConfig::builder().provider(TlsProvider::Rustls);
    let config = match trust {
        Trust::Insecure => {
            warn(&format!(
                "--insecure: the certificate of {host} is not verified; anyone on the way can read \
                 the delivery or answer in the server's place"
            ));
            builder.disable_verification(true)
        }
        Trust::Roots(cacerts) => {
            // Read --cacert first: a bad file is a usage error, whatever the platform has.
            let mut extra = Vec::new();
            for path in *cacerts {
                extra.extend(read_cacert(path)?);
            }
            let mut roots = platform_roots();
            roots.extend(extra);
            builder.root_certs(RootCerts::new_with_certs(&roots))
        }
    };
    Ok(config.build())
}

/// The platform's root certificates (SSL_CERT_FILE and SSL_CERT_DIR are honoured), or
/// Mozilla's, as bundled, where the platform offers none.
fn platform_roots() -> Vec<Certificate<'static>> {
    let found = rustls_native_certs::load_native_certs();
    let certs: Vec<Certificate<'static>> =
        found.certs.iter().map(|der| Certificate::from_der(der.as_ref()).to_owned()).collect();
    if !certs.is_empty() {
        return certs;
    }
    let why = found.errors.first().map(|e| format!(" ({e})")).unwrap_or_default();
    warn(&format!(
        "found no root certificates on this system{why}; trusting the Mozilla roots built into hooksig"
    ));
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect()
}

/// Every certificate of a `--cacert` PEM file, each checked to be usable as a root.
fn read_cacert(path: &Path) -> Result<Vec<Certificate<'static>>, Failure> {
    let shown = path.display();
    let bytes =
        std::fs::read(path).map_err(|e| Failure::usage(format!("cannot read --cacert {shown}: {e}")))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&bytes) {
        match item {
            Ok(PemItem::Certificate(cert)) => {
                let mut store = rustls::RootCertStore::empty();
                store.add(CertificateDer::from(cert.der())).map_err(|e| {
                    Failure::usage(format!(
                        "--cacert {shown}: certificate {} cannot be a root: {e}",
                        certs.len() + 1
                    ))
                })?;
                certs.push(cert);
            }
            // A private key next to the certificate is skipped.
            Ok(_) => {}
            Err(e) => return Err(Failure::usage(format!("--cacert {shown} is not valid PEM: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(Failure::usage(format!("--cacert {shown} holds no certificate"))
            .hint("--cacert takes PEM (-----BEGIN CERTIFICATE-----); convert DER with `openssl x509 -inform der -in CERT -out CERT.pem`"));
    }
    Ok(certs)
}

/// The certificate problem behind a failed https request, in words, with a hint; `None`
/// when the failure was not about the server's certificate.
pub fn certificate_problem(e: &ureq::Error) -> Option<(String, &'static str)> {
    let rustls_error = match e {
        ureq::Error::Rustls(e) => e,
        ureq::Error::Io(io) => io.get_ref()?.downcast_ref::<rustls::Error>()?,
        _ => return None,
    };
    let rustls::Error::InvalidCertificate(problem) = rustls_error else {
        return None;
    };
    const TRUST: &str = "trust the server's certificate (or the CA that issued it) with --cacert PEM, \
                         or skip verification with --insecure (for testing only)";
    let (words, hint) = match problem {
        CertificateError::UnknownIssuer => {
            ("it is not signed by a trusted root (self-signed, or issued by a private CA)".to_owned(), TRUST)
        }
        CertificateError::BadSignature => ("its signature does not verify".to_owned(), TRUST),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => (
            format!("it does not name this host ({problem})"),
            "use a URL with a host name the certificate names, or --insecure (for testing only)",
        ),
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => (
            format!("it is outside its validity period ({problem})"),
            "check this machine's clock and the certificate's dates, or --insecure (for testing only)",
        ),
        other => (other.to_string(), TRUST),
    };
    Some((format!("the server's certificate was refused: {words} [{rustls_error}]"), hint))
}
