//! Serving securely: TLS whose certificate and key are re-read when they change on disk (or when
//! a reload names other files), and HTTP basic auth against bcrypt hashes in the same shape as the
//! Prometheus exporter-toolkit's web config (`basic_auth_users: {name: hash}`).
//!
//! bcrypt is slow on purpose (tens of milliseconds), so verification runs on the blocking pool, at
//! most two at a time, and its verdict is cached by a SHA-256 of (user, password, hash): a
//! scraping Prometheus pays it once, and a client hammering with the same bad password pays it once
//! too. Unknown users are checked against a dummy hash so that timing does not tell which user
//! names exist.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio_rustls::rustls;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

/// Loads a certificate chain and its private key from PEM files.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read certificates from {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad certificate in {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", cert.display()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read a private key from {}: {e}", key.display()))?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| format!("unusable private key in {}: {e}", key.display()))?;
    Ok(CertifiedKey::new(certs, signing))
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

struct Loaded {
    cert: PathBuf,
    key: PathBuf,
    stamp: (Option<SystemTime>, Option<SystemTime>),
    current: Arc<CertifiedKey>,
    checked: Instant,
}

/// Serves the current certificate, re-reading the files when their modification times change
/// (checked at most every two seconds, at handshake time). A file that fails to load keeps the
/// previous certificate in service and is logged.
pub struct CertReloader {
    inner: RwLock<Loaded>,
}

impl std::fmt::Debug for CertReloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertReloader")
    }
}

impl CertReloader {
    /// Loads the files now.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, String> {
        let current = Arc::new(load_certified_key(cert, key)?);
        Ok(CertReloader {
            inner: RwLock::new(Loaded {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
                stamp: (mtime(cert), mtime(key)),
                current,
                checked: Instant::now(),
            }),
        })
    }

    /// Switches to other files (on reload); keeps the old certificate if they do not load.
    pub fn set_paths(&self, cert: &Path, key: &Path) -> Result<(), String> {
        let current = Arc::new(load_certified_key(cert, key)?);
        let mut l = self.inner.write().unwrap_or_else(|e| e.into_inner());
        *l = Loaded {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            stamp: (mtime(cert), mtime(key)),
            current,
            checked: Instant::now(),
        };
        Ok(())
    }

    fn maybe_reload(&self) {
        {
            let l = self.inner.read().unwrap_or_else(|e| e.into_inner());
            if l.checked.elapsed() < Duration::from_secs(2) {
                return;
            }
        }
        let mut l = self.inner.write().unwrap_or_else(|e| e.into_inner());
        l.checked = Instant::now();
        let stamp = (mtime(&l.cert), mtime(&l.key));
        if stamp == l.stamp {
            return;
        }
        match load_certified_key(&l.cert, &l.key) {
            Ok(k) => {
                tracing::info!(cert = %l.cert.display(), "TLS certificate changed on disk; reloaded");
                l.current = Arc::new(k);
                l.stamp = stamp;
            }
            Err(e) => {
                tracing::warn!(error = %e, "TLS files changed but do not load; keeping the previous certificate");
                l.stamp = stamp;
            }
        }
    }

    /// The certificate in service.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.maybe_reload();
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .current
            .clone()
    }
}

impl ResolvesServerCert for CertReloader {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// A TLS acceptor serving the reloader's certificate (TLS 1.2 and 1.3, HTTP/1.1).
pub fn acceptor(reloader: Arc<CertReloader>) -> Result<tokio_rustls::TlsAcceptor, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_cert_resolver(reloader);
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

/// A bcrypt hash of a random password nobody knows: checked for unknown users so that a
/// request for an unknown user costs as much as one for a known user.
const DUMMY_HASH: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

/// Basic auth against bcrypt hashes.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    verdicts: Mutex<HashMap<[u8; 32], bool>>,
    verifying: Semaphore,
}

impl BasicAuth {
    /// Users and their bcrypt hashes.
    pub fn new(users: BTreeMap<String, String>) -> Self {
        BasicAuth {
            users,
            verdicts: Mutex::new(HashMap::new()),
            verifying: Semaphore::new(2),
        }
    }

    /// True when the `Authorization` header carries a known user and the right password.
    pub async fn check(self: &Arc<Self>, header: Option<&str>) -> bool {
        let Some((user, password)) = header.and_then(parse_basic) else {
            return false;
        };
        let hash = self.users.get(&user).cloned();
        let mut h = Sha256::new();
        h.update(user.as_bytes());
        h.update([0u8]);
        h.update(password.as_bytes());
        h.update([0u8]);
        h.update(hash.as_deref().unwrap_or("").as_bytes());
        let digest: [u8; 32] = h.finalize().into();
        if let Some(v) = self
            .verdicts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&digest)
        {
            return *v;
        }
        let Ok(_slot) = self.verifying.acquire().await else {
            return false;
        };
        let known = hash.is_some();
        let against = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
        let ok = tokio::task::spawn_blocking(move || {
            bcrypt::verify(password, &against).unwrap_or(false)
        })
        .await
        .unwrap_or(false)
            && known;
        let mut v = self.verdicts.lock().unwrap_or_else(|e| e.into_inner());
        if v.len() >= 4096 {
            v.clear();
        }
        v.insert(digest, ok);
        ok
    }
}

/// The user and password of a `Basic` `Authorization` header; `None` for any other scheme or
/// a value that is not base64 of UTF-8 `user:password`. Public for the fuzz targets.
pub fn parse_basic(h: &str) -> Option<(String, String)> {
    let (scheme, rest) = h.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = aws_smithy_types::base64::decode(rest.trim()).ok()?;
    let s = String::from_utf8(decoded).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn basic_auth_accepts_the_right_password_only() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = Arc::new(BasicAuth::new(BTreeMap::from([(
            "prometheus".to_string(),
            hash,
        )])));
        let hdr = |u: &str, p: &str| {
            format!(
                "Basic {}",
                aws_smithy_types::base64::encode(format!("{u}:{p}"))
            )
        };
        assert!(auth.check(Some(&hdr("prometheus", "s3cret"))).await);
        assert!(
            auth.check(Some(&hdr("prometheus", "s3cret"))).await,
            "cached"
        );
        assert!(!auth.check(Some(&hdr("prometheus", "wrong"))).await);
        assert!(!auth.check(Some(&hdr("nobody", "s3cret"))).await);
        assert!(!auth.check(Some("Bearer abc")).await);
        assert!(!auth.check(Some("Basic !!!notbase64")).await);
        assert!(!auth.check(None).await);
    }

    #[test]
    fn dummy_hash_is_a_valid_bcrypt_hash() {
        assert!(!bcrypt::verify("anything", DUMMY_HASH).unwrap());
    }
}
