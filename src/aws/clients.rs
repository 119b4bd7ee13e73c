//! The shared service clients of the process and the per-job scope every call applies to them.
//!
//! One client per service exists for the whole process; a [`RegionClients`] is only a scope
//! (account, region, credentials) and a call counter. Its fields are visible to the `aws`
//! module alone, so the one call path (`call.rs`) is the only way to a client.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime::client::identity::IdentityCache;
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};

use super::answers::CheckAnswers;
use super::attempts::{CallCounter, CountCalls, NoThrottleRetry};
use super::limits::Limiter;

/// The calls of one account in one region: the shared clients, and the scope each call applies
/// to them. Its calls go through [`RegionClients::config`] and its siblings (see [`super::call`]).
pub struct RegionClients {
    /// The account these clients read.
    pub account_id: String,
    /// The region they call.
    pub region: String,
    pub(super) scope: Scope,
    pub(super) clients: Arc<Clients>,
    pub(super) limiter: Arc<Limiter>,
    /// Calls sent through this scope ([`RegionClients::calls`]).
    pub(super) calls: AtomicU64,
}

/// What one call overrides in a shared client: the region, and the credentials unless they are
/// the base ones. Turned into each service's configuration builder by `From`, so the one call
/// path applies it the same way whatever the service. Only a [`RegionClients`] holds one.
#[derive(Clone, Debug)]
pub struct Scope {
    pub(super) region: Region,
    pub(super) credentials: Option<SharedCredentialsProvider>,
}

/// One client per service for the process, built on first use.
///
/// Every client gets the call counter and a retry partition whose retry quota is unlimited: the
/// SDK's default quota is shared by every client of a service in the process, so one throttled
/// account would starve the retries of all others. Our own token buckets keep us inside AWS's
/// limits, and `max_attempts` bounds the retries of a call.
pub(super) struct Clients {
    base: SdkConfig,
    counter: Arc<CallCounter>,
    config: OnceLock<aws_sdk_config::Client>,
    guardduty: OnceLock<aws_sdk_guardduty::Client>,
    iam: OnceLock<aws_sdk_iam::Client>,
    organizations: OnceLock<aws_sdk_organizations::Client>,
    sts: OnceLock<aws_sdk_sts::Client>,
    /// The organization's account listings, shared by discovery and the jobs.
    pub(super) org_listings: super::org_listing::OrgListings,
}

impl Clients {
    pub(super) fn new(base: &SdkConfig, counter: &Arc<CallCounter>) -> Self {
        Clients {
            base: base.clone(),
            counter: counter.clone(),
            config: OnceLock::new(),
            guardduty: OnceLock::new(),
            iam: OnceLock::new(),
            organizations: OnceLock::new(),
            sts: OnceLock::new(),
            org_listings: Default::default(),
        }
    }
}

macro_rules! client {
    ($name:ident, $krate:ident, $label:literal) => {
        impl Clients {
            pub(super) fn $name(&self) -> &$krate::Client {
                self.$name.get_or_init(|| {
                    let conf = $krate::config::Builder::from(&self.base)
                        .interceptor(CountCalls::new(self.counter.clone()))
                        .interceptor(CheckAnswers)
                        .retry_classifier(NoThrottleRetry)
                        .retry_partition(
                            RetryPartition::custom(concat!("posture-exporter-", $label))
                                .token_bucket(TokenBucket::unlimited())
                                .build(),
                        )
                        .build();
                    $krate::Client::from_conf(conf)
                })
            }
        }

        impl From<&Scope> for $krate::config::Builder {
            fn from(s: &Scope) -> Self {
                let mut b = $krate::config::Builder::default().region(s.region.clone());
                if let Some(p) = &s.credentials {
                    // Our provider caches; without `no_cache` the SDK would build a lazy
                    // identity cache for every call that overrides credentials.
                    b = b
                        .credentials_provider(p.clone())
                        .identity_cache(IdentityCache::no_cache());
                }
                b
            }
        }
    };
}

client!(config, aws_sdk_config, "config");
client!(guardduty, aws_sdk_guardduty, "guardduty");
client!(iam, aws_sdk_iam, "iam");
client!(organizations, aws_sdk_organizations, "organizations");
client!(sts, aws_sdk_sts, "sts");

impl RegionClients {
    /// The organization's account listings made from any account, shared by the process
    /// (see [`super::org_listing`]).
    pub fn org_listings(&self) -> &super::org_listing::OrgListings {
        &self.clients.org_listings
    }
}
