//! TLS on the one port: the certificate and key from two PEM files, HTTP/2 or HTTP/1.1 chosen
//! by ALPN, and the files read again on SIGHUP or when they change, without a restart.
//!
//! The rustls configuration is built once; what changes on a reload is only the certificate
//! its resolver hands to the next handshake, so connections already open keep their session
//! and are never dropped. A reload that fails (a file half written, a key that does not match
//! the certificate) keeps the certificate in use and logs why; the error names the file and
//! the problem, never the key's bytes. rustls runs on ring, the provider sqlx's TLS to
//! PostgreSQL uses too, so the binary carries one.
//!
//! How long a handshake may take is not decided here: `connection` bounds it, with the
//! protocol detection, by the header deadline.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::{Duration, SystemTime},
};

use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        ServerConfig,
        crypto::{CryptoProvider, ring},
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
        server::{ClientHello, ResolvesServerCert},
        sign::CertifiedKey,
    },
};

/// The two files a certificate is read from, and how often to look whether they changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// How often the files' modification times and sizes are compared; `None`: only
    /// SIGHUP reloads.
    pub poll: Option<Duration>,
}

/// The port's TLS: the acceptor every connection goes through, and the certificate it
/// presents, which [`Tls::watch`] replaces when the files change.
pub struct Tls {
    acceptor: TlsAcceptor,
    current: Arc<Current>,
    files: TlsSettings,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").field("files", &self.files).finish()
    }
}

impl Tls {
    /// Reads the certificate and key; an error says which file and what is wrong with it.
    pub fn load(files: TlsSettings) -> Result<Self, String> {
        let provider = Arc::new(ring::default_provider());
        let certified = read(&files, &provider)?;
        let current = Arc::new(Current {
            certified: RwLock::new(Arc::new(certified)),
        });
        let mut config = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("TLS configuration: {error}"))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            current,
            files,
        })
    }

    pub(super) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Reads the files again; on success the next handshake presents the new certificate,
    /// on failure the old one stays and the reason is logged.
    pub fn reload(&self) {
        let provider = ring::default_provider();
        match read(&self.files, &provider) {
            Ok(certified) => {
                self.current.replace(certified);
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
            }
            Err(error) => {
                tracing::warn!(%error, "TLS certificate not reloaded; keeping the one in use");
            }
        }
    }

    /// Reloads on every SIGHUP and whenever either file's modification time or size
    /// changes, until the task is aborted.
    pub fn watch(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut hangup = hangups();
            let mut seen = stamps(&self.files);
            // With polling off the interval is never polled (the `if` below); any period does.
            let mut poll =
                tokio::time::interval(self.files.poll.unwrap_or(Duration::from_secs(60)));
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            poll.tick().await;
            loop {
                tokio::select! {
                    () = next_hangup(&mut hangup) => {
                        tracing::info!("SIGHUP: reloading the TLS certificate");
                        seen = stamps(&self.files);
                        self.reload();
                    }
                    _ = poll.tick(), if self.files.poll.is_some() => {
                        let now = stamps(&self.files);
                        if now != seen {
                            seen = now;
                            self.reload();
                        }
                    }
                }
            }
        })
    }
}

/// The certificate the next handshake presents.
#[derive(Debug)]
struct Current {
    certified: RwLock<Arc<CertifiedKey>>,
}

impl Current {
    fn get(&self) -> Arc<CertifiedKey> {
        // A poisoned lock still holds a whole certificate: writers only swap the `Arc`.
        match self.certified.read() {
            Ok(certified) => certified.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, certified: CertifiedKey) {
        let mut slot = match self.certified.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Arc::new(certified);
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// The chain and key of `files`, checked to belong together.
fn read(files: &TlsSettings, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let cert_error = |error: &dyn fmt::Display| {
        format!(
            "--tls-cert {}: not a PEM certificate chain ({error})",
            files.cert.display()
        )
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|error| cert_error(&error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| cert_error(&error))?;
    if chain.is_empty() {
        return Err(cert_error(&"no CERTIFICATE block"));
    }
    // The pem errors name a section or an I/O failure, never the key's contents.
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|error| {
        format!(
            "--tls-key {}: not a PEM private key ({error})",
            files.key.display()
        )
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|error| {
        format!(
            "--tls-key {} does not fit --tls-cert {}: {error}",
            files.key.display(),
            files.cert.display()
        )
    })
}

/// What says a file changed: its modification time and length.
type Stamp = Option<(SystemTime, u64)>;

fn stamps(files: &TlsSettings) -> (Stamp, Stamp) {
    (stamp(&files.cert), stamp(&files.key))
}

fn stamp(path: &Path) -> Stamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = ();

#[cfg(unix)]
fn hangups() -> Hangups {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP; TLS files reload on change only");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangups() -> Hangups {}

#[cfg(unix)]
async fn next_hangup(hangups: &mut Hangups) {
    match hangups {
        Some(signal) => {
            if signal.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn next_hangup(_hangups: &mut Hangups) {
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, KeyPair};

    use super::*;

    /// A self-signed certificate for `localhost` and its key, as PEM.
    fn pair() -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A directory holding `cert.pem` and `key.pem` with the given contents (`None`: no
    /// such file), and the settings that name them.
    fn files(cert: Option<&str>, key: Option<&str>) -> (tempfile::TempDir, TlsSettings) {
        let dir = tempfile::tempdir().unwrap();
        let settings = TlsSettings {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            poll: None,
        };
        if let Some(cert) = cert {
            std::fs::write(&settings.cert, cert).unwrap();
        }
        if let Some(key) = key {
            std::fs::write(&settings.key, key).unwrap();
        }
        (dir, settings)
    }

    fn refused(cert: Option<&str>, key: Option<&str>) -> (String, TlsSettings) {
        let (dir, settings) = files(cert, key);
        let error = Tls::load(settings.clone()).unwrap_err();
        drop(dir);
        (error, settings)
    }

    fn served(tls: &Tls) -> Vec<u8> {
        tls.current.get().cert[0].to_vec()
    }

    #[test]
    fn a_certificate_and_its_key_load_with_both_protocols_offered() {
        let (cert, key) = pair();
        let (_dir, settings) = files(Some(&cert), Some(&key));
        let tls = Tls::load(settings).unwrap();
        let config = tls.acceptor().config();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        let expected = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        assert_eq!(served(&tls), expected.to_vec());
    }

    /// How an error about the certificate file, and about the key file, begins.
    fn of_cert(settings: &TlsSettings) -> String {
        format!(
            "--tls-cert {}: not a PEM certificate chain (",
            settings.cert.display()
        )
    }

    fn of_key(settings: &TlsSettings) -> String {
        format!(
            "--tls-key {}: not a PEM private key (",
            settings.key.display()
        )
    }

    #[test]
    fn a_missing_file_is_named() {
        let (cert, key) = pair();
        let (error, settings) = refused(None, Some(&key));
        assert!(error.starts_with(&of_cert(&settings)), "{error}");
        assert!(error.contains("No such file or directory"), "{error}");
        let (error, settings) = refused(Some(&cert), None);
        assert!(error.starts_with(&of_key(&settings)), "{error}");
        assert!(error.contains("No such file or directory"), "{error}");
    }

    #[test]
    fn empty_files_are_named() {
        let (cert, key) = pair();
        let (error, settings) = refused(Some(""), Some(&key));
        assert_eq!(error, of_cert(&settings) + "no CERTIFICATE block)");
        let (error, settings) = refused(Some(&cert), Some(""));
        assert_eq!(error, of_key(&settings) + "no items found)");
    }

    #[test]
    fn garbage_is_named_and_a_key_is_never_echoed() {
        let (cert, key) = pair();
        let (error, settings) = refused(Some("not a certificate at all\n"), Some(&key));
        assert_eq!(error, of_cert(&settings) + "no CERTIFICATE block)");
        let broken = "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n";
        let (error, settings) = refused(Some(broken), Some(&key));
        assert!(error.starts_with(&of_cert(&settings)), "{error}");

        let secret =
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==!\n-----END PRIVATE KEY-----\n";
        let (error, settings) = refused(Some(&cert), Some(secret));
        assert!(error.starts_with(&of_key(&settings)), "{error}");
        assert!(!error.contains("c2VjcmV0"), "{error}");
        // A certificate where the key belongs holds no private key.
        let (error, settings) = refused(Some(&cert), Some(&cert));
        assert_eq!(error, of_key(&settings) + "no items found)");
    }

    #[test]
    fn a_key_that_does_not_fit_the_certificate_names_both_files() {
        let (cert, _) = pair();
        let (_, other_key) = pair();
        let (error, settings) = refused(Some(&cert), Some(&other_key));
        let prefix = format!(
            "--tls-key {} does not fit --tls-cert {}: ",
            settings.key.display(),
            settings.cert.display()
        );
        assert!(error.starts_with(&prefix), "{error}");
        assert!(!error.contains("PRIVATE KEY"), "{error}");
    }

    #[test]
    fn a_failed_reload_keeps_the_certificate_and_a_good_one_replaces_it() {
        let (cert, key) = pair();
        let (_dir, settings) = files(Some(&cert), Some(&key));
        let tls = Tls::load(settings.clone()).unwrap();
        let first = served(&tls);

        let (_, other_key) = pair();
        std::fs::write(&settings.key, &other_key).unwrap();
        tls.reload();
        assert_eq!(served(&tls), first, "a key that does not fit was taken");
        std::fs::write(&settings.cert, "").unwrap();
        tls.reload();
        assert_eq!(served(&tls), first, "an empty certificate file was taken");

        let (renewed, renewed_key) = pair();
        std::fs::write(&settings.cert, &renewed).unwrap();
        std::fs::write(&settings.key, &renewed_key).unwrap();
        tls.reload();
        let expected = CertificateDer::from_pem_slice(renewed.as_bytes()).unwrap();
        assert_eq!(served(&tls), expected.to_vec());
    }
}
