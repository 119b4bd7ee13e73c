//! SDK clients per target: credentials (ambient or an assumed role), the endpoint override,
//! retries, the global bound on calls in flight, per-(account, region, service) rate limits and
//! the call counter.
//!
//! One [`AwsFactory`] holds the base SDK configuration, one HTTP connection pool and one client
//! per service for the whole process. Each target gets an [`AccountAws`] (its credentials) and
//! each (target, region) a [`RegionClients`], which is only a scope: every call applies it to the
//! shared client (through the one call path in [`call`], the only way to a client), so the region
//! and credentials are per call while the SDK's runtime plugins, components and configuration
//! layers exist once.
//! (A client per job cost about 33 KiB of SDK state each: 260 MiB at 1,000 accounts x 4 regions.)
//! Assumed-role credentials are cached per account by our own provider, so an account costs one
//! AssumeRole per session, whatever the number of regions and services it is read in.
//!
//! The services the exporter calls and their operations are declared once, in [`services`] (one
//! entry per service, one row per operation); [`table`] says what an entry and a row become.

pub mod answers;
pub mod attempts;
pub mod call;
pub mod clients;
pub mod error;
pub mod lanes;
pub mod limits;
pub mod org_listing;
pub mod pages;
pub mod run;
pub mod services;
pub mod table;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::{
    error::CredentialsError, future, ProvideCredentials, SharedCredentialsProvider,
};
use aws_credential_types::Credentials;

pub use attempts::{CallCounter, CountCalls, Outcome};
pub use call::{Call, Operation, Paged};
use clients::Clients;
pub use clients::{RegionClients, Scope};
pub use error::{CollectError, ErrorKind};
pub use limits::{Limiter, SlotReading};
pub use table::{OperationInfo, Protocol, RateLimits, Service, OPERATIONS};

use crate::config::aws::AwsConfig;

/// Builds the SDK configurations of every target from one base.
#[derive(Clone)]
pub struct AwsFactory {
    clients: Arc<Clients>,
    counter: Arc<CallCounter>,
    limiter: Arc<Limiter>,
    home_region: String,
}

impl AwsFactory {
    /// Loads the base configuration: ambient credentials (or `static_credentials`), the home
    /// region, the endpoint override, retries and timeouts.
    pub async fn new(
        cfg: &AwsConfig,
        counter: Arc<CallCounter>,
        static_credentials: Option<Credentials>,
    ) -> Self {
        let retry = RetryConfig::standard()
            .with_max_attempts(cfg.max_attempts)
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(20));
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(cfg.connect_timeout.0)
            .operation_attempt_timeout(cfg.attempt_timeout.0)
            .operation_timeout(cfg.operation_timeout.0)
            .build();
        // Without an explicit client every service client builds its own on first use: its own
        // connection pool and TLS configuration (the root certificates parsed again), about
        // 340 KiB per job. One for the process pools connections across accounts.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(cfg.region.clone()))
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some(url) = &cfg.endpoint_url {
            loader = loader.endpoint_url(url.clone());
        }
        if let Some(c) = static_credentials {
            loader = loader.credentials_provider(c);
        }
        let base = loader.load().await;
        AwsFactory {
            clients: Arc::new(Clients::new(&base, &counter)),
            counter,
            limiter: Arc::new(Limiter::new(cfg)),
            home_region: cfg.region.clone(),
        }
    }

    /// The call counter.
    pub fn counter(&self) -> &Arc<CallCounter> {
        &self.counter
    }

    /// The limiter shared by every client.
    pub fn limiter(&self) -> &Arc<Limiter> {
        &self.limiter
    }

    /// The home region.
    pub fn home_region(&self) -> &str {
        &self.home_region
    }

    /// Clients with the ambient (base) credentials.
    pub fn ambient(&self) -> AccountAws {
        AccountAws {
            credentials: None,
            factory: self.clone(),
            identity: next_identity(),
        }
    }

    /// Clients for `role_arn`, assumed with the base credentials and cached until shortly
    /// before they expire.
    pub fn assume_role(&self, role: RoleSpec) -> AccountAws {
        // Refresh between 5 and 15 minutes before expiry (at most a quarter of the session):
        // accounts assumed together at start would otherwise all refresh in the same second.
        let session = role.duration.unwrap_or(Duration::from_secs(3600));
        let spread = Duration::from_secs(600).min(session / 4);
        let provider = AssumeRoleProvider {
            sts: self.clients.sts().clone(),
            limiter: self.limiter.clone(),
            home_region: self.home_region.clone(),
            refresh_before: Duration::from_secs(300) + spread.mul_f64(fastrand::f64()),
            role,
            cached: tokio::sync::Mutex::new(None),
        };
        AccountAws {
            credentials: Some(SharedCredentialsProvider::new(provider)),
            factory: self.clone(),
            identity: next_identity(),
        }
    }
}

/// What to assume.
#[derive(Clone, Debug)]
pub struct RoleSpec {
    /// The role ARN.
    pub role_arn: String,
    /// The account the role is in.
    pub account_id: String,
    /// External id, when the trust policy asks for one.
    pub external_id: Option<String>,
    /// Session name.
    pub session_name: String,
    /// Session duration.
    pub duration: Option<Duration>,
}

/// The SDK configuration of one account (one set of credentials).
#[derive(Clone)]
pub struct AccountAws {
    /// `None`: the base (ambient or static) credentials.
    credentials: Option<SharedCredentialsProvider>,
    factory: AwsFactory,
    /// Tells this configuration from any other made in the process (clones share it).
    identity: u64,
}

/// A number no other [`AccountAws`] of the process has.
fn next_identity() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl AccountAws {
    /// Whether `other` is this very configuration (a clone of it): same credentials, same
    /// factory. A job whose target's configuration is another one must be restarted to use it.
    pub fn same(&self, other: &AccountAws) -> bool {
        self.identity == other.identity
    }

    /// Clients of this account in `region`. `account_id` keys the rate limits; it may be empty
    /// before the account is known.
    pub fn region(&self, region: &str, account_id: &str) -> RegionClients {
        RegionClients {
            account_id: account_id.to_string(),
            region: region.to_string(),
            scope: Scope {
                region: Region::new(region.to_string()),
                credentials: self.credentials.clone(),
            },
            clients: self.factory.clients.clone(),
            limiter: self.factory.limiter.clone(),
            calls: AtomicU64::new(0),
        }
    }

    /// Asks STS which account these credentials belong to.
    pub async fn account_id(&self, home_region: &str) -> Result<String, CollectError> {
        let c = self.region(home_region, "");
        let out = c.sts(|s| s.get_caller_identity()).await?;
        out.account
            .filter(|a| crate::config::shapes::valid_account_id(a))
            .ok_or_else(|| {
                CollectError::new(
                    "GetCallerIdentity",
                    "unknown",
                    home_region,
                    ErrorKind::Malformed,
                    "the answer carries no 12-digit account id",
                )
            })
    }
}

/// AssumeRole credentials, cached for the account and refreshed five minutes before expiry.
/// One refresh runs at a time; concurrent callers wait for it.
///
/// AssumeRole is inside the client-side budget like every other call: a token of the STS
/// bucket of the calling (base) credentials, as AWS counts them, and a slot among the calls in
/// flight. The call path resolves credentials before it takes its own slot, so a call waiting
/// for its account's credentials never holds a slot that the AssumeRole needs.
#[derive(Debug)]
struct AssumeRoleProvider {
    sts: aws_sdk_sts::Client,
    limiter: Arc<Limiter>,
    home_region: String,
    /// How long before expiry the credentials are refreshed (spread per account).
    refresh_before: Duration,
    role: RoleSpec,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

/// The request of the row of the services table the provider sends (outside the call path: with
/// the base credentials, in the home region), for its name and service.
type AssumeRole = aws_sdk_sts::operation::assume_role::builders::AssumeRoleFluentBuilder;

/// The limiter's key for calls made with the base credentials, whose account may not be known.
pub const BASE_CREDENTIALS: &str = "";

impl AssumeRoleProvider {
    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            let fresh = c
                .expiry()
                .map(|e| e > SystemTime::now() + self.refresh_before)
                .unwrap_or(true);
            if fresh {
                return Ok(c.clone());
            }
        }
        let r = &self.role;
        let request = self
            .sts
            .assume_role()
            .role_arn(&r.role_arn)
            .role_session_name(&r.session_name)
            .set_external_id(r.external_id.clone())
            .set_duration_seconds(r.duration.map(|d| d.as_secs().clamp(900, 43_200) as i32));
        // Like every call: a throttled attempt slows the bucket, and the request queues again
        // for a token while the run that needs the credentials has time.
        let (mut round, since) = (0, tokio::time::Instant::now());
        let out = loop {
            let permit = self
                .limiter
                .acquire(BASE_CREDENTIALS, &self.home_region, AssumeRole::SERVICE)
                .await;
            let answer = request
                .clone()
                .customize()
                .interceptor(attempts::SlowDown::new(
                    self.limiter.clone(),
                    BASE_CREDENTIALS,
                    &self.home_region,
                    AssumeRole::SERVICE,
                    permit.generation(),
                ))
                .send()
                .await;
            drop(permit);
            // AWS's code and message in one line, never the SDK error's `Debug` form.
            let e = match answer {
                Ok(out) => break out,
                Err(e) => {
                    CollectError::from_sdk(AssumeRole::NAME, &r.account_id, &self.home_region, e)
                }
            };
            let wait = (e.kind == ErrorKind::Throttled)
                .then(|| self.limiter.throttle_wait(round, since))
                .flatten();
            let Some(wait) = wait else {
                return Err(CredentialsError::provider_error(format!(
                    "AssumeRole of {} for account {} failed: {}",
                    r.role_arn, r.account_id, e.message
                )));
            };
            tokio::time::sleep(wait).await;
            round += 1;
        };
        let c = out.credentials.ok_or_else(|| {
            CredentialsError::provider_error(format!(
                "AssumeRole of {} for account {} returned no credentials",
                r.role_arn, r.account_id
            ))
        })?;
        let expiry = SystemTime::try_from(c.expiration).ok();
        let creds = Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            expiry,
            "posture-exporter-assume-role",
        );
        *cached = Some(creds.clone());
        Ok(creds)
    }
}

impl ProvideCredentials for AssumeRoleProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}
