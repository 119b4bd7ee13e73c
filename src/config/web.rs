//! `web:` the HTTP server: TLS, basic auth users, header timeout, connection bound, grace.

use serde::Deserialize;

use super::duration::{d, HumanDuration};
use super::problem::Problems;
use super::shapes::looks_like_bcrypt;

/// HTTPS settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain; re-read when it changes on disk.
    pub cert_file: std::path::PathBuf,
    /// PEM private key; re-read when it changes on disk.
    pub key_file: std::path::PathBuf,
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Serve HTTPS with these files (decided at start; a reload may name other files).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Users and their bcrypt hashes (as in the Prometheus exporter-toolkit's web config);
    /// everything but /healthz and /ready then needs basic auth.
    #[serde(default)]
    pub basic_auth_users: std::collections::BTreeMap<String, String>,
    /// Time a client has to send its request headers.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout: HumanDuration,
    /// Connections served at once; further ones wait in the kernel's backlog.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// How long shutdown waits for open connections to finish.
    #[serde(default = "default_shutdown_grace")]
    pub shutdown_grace: HumanDuration,
    /// The URL people reach this exporter's pages at (behind a proxy, an ingress, TLS), without a
    /// trailing slash. Exported as `posture_exporter_overview_url{url}` so that alert annotations
    /// link to the overview; unset, they use `http://<the scrape's instance>`.
    #[serde(default)]
    pub external_url: Option<String>,
}

fn default_header_read_timeout() -> HumanDuration {
    d(10)
}
fn default_max_connections() -> usize {
    512
}
fn default_shutdown_grace() -> HumanDuration {
    d(5)
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            tls: None,
            basic_auth_users: Default::default(),
            header_read_timeout: default_header_read_timeout(),
            max_connections: default_max_connections(),
            shutdown_grace: default_shutdown_grace(),
            external_url: None,
        }
    }
}

impl WebConfig {
    /// Adds every problem of the section.
    pub fn validate(&self, p: &mut Problems) {
        if self.max_connections == 0 {
            p.at("web.max_connections", "must be at least 1");
        }
        if let Some(tls) = &self.tls {
            if let Err(e) = crate::tls_auth::load_certified_key(&tls.cert_file, &tls.key_file) {
                p.at("web.tls", e);
            }
        }
        for (user, hash) in &self.basic_auth_users {
            if user.is_empty() || user.contains(':') {
                p.at(
                    "web.basic_auth_users",
                    format!("`{user}` is not a user name (no `:`)"),
                );
            }
            if !looks_like_bcrypt(hash) {
                p.at(
                    format!("web.basic_auth_users.{user}"),
                    "is not a bcrypt hash ($2a$/$2b$/$2y$, 60 characters); make one with `htpasswd -nBC 10 user`",
                );
            }
        }
        if self.header_read_timeout.0.is_zero() {
            p.at("web.header_read_timeout", "must be more than 0s");
        }
        if let Some(u) = &self.external_url {
            let rest = u
                .strip_prefix("https://")
                .or_else(|| u.strip_prefix("http://"));
            match rest {
                None => p.at(
                    "web.external_url",
                    format!("`{u}` must start with http:// or https://"),
                ),
                Some(r) if r.is_empty() || r.starts_with('/') => {
                    p.at("web.external_url", format!("`{u}` has no host"))
                }
                Some(_)
                    if u.chars().any(|c| {
                        c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>'
                    }) =>
                {
                    p.at(
                        "web.external_url",
                        format!(
                            "`{}` contains a space, a quote or a control character",
                            u.escape_debug()
                        ),
                    )
                }
                Some(_) if u.contains('?') || u.contains('#') => p.at(
                    "web.external_url",
                    format!("`{u}` must not carry a query or a fragment"),
                ),
                Some(_) => {}
            }
        }
    }

    /// The external URL without a trailing slash.
    pub fn external_url(&self) -> Option<&str> {
        self.external_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'))
    }
}
