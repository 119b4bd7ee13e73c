//! The shared service clients of the process and the per-job scope every call applies to them.
//!
//! One client per service exists for the whole process; a [`RegionClients`] is only a scope
//! (account, region, credentials) and a call counter. Its fields are visible to the `aws`
//! module alone, so the one call path (`call.rs`) is the only way to a client. The per-service
//! parts (a client per service, and the `From<&Scope>` of its configuration builder) are made
//! from the services table (`services.rs`) by the generator in `call.rs`.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

use super::attempts::CallCounter;
use super::limits::Limiter;
use super::table::ServiceClients;

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
/// the base ones. Turned into each service's configuration builder by `From` (made per service
/// from the services table), so the one call path applies it the same way whatever the service.
/// Only a [`RegionClients`] holds one.
#[derive(Clone, Debug)]
pub struct Scope {
    pub(super) region: Region,
    pub(super) credentials: Option<SharedCredentialsProvider>,
}

/// One client per service for the process, built on first use (by the accessors the services
/// table's generator in `call.rs` makes: `clients.config()` and its siblings).
///
/// Every client gets the call counter, the answers check, and a retry partition whose retry
/// quota is unlimited: the SDK's default quota is shared by every client of a service in the
/// process, so one throttled account would starve the retries of all others. Our own token
/// buckets keep us inside AWS's limits, and `max_attempts` bounds the retries of a call.
pub(super) struct Clients {
    pub(super) base: SdkConfig,
    pub(super) counter: Arc<CallCounter>,
    pub(super) services: ServiceClients,
    /// The organization's account listings, shared by discovery and the jobs.
    pub(super) org_listings: super::org_listing::OrgListings,
}

impl Clients {
    pub(super) fn new(base: &SdkConfig, counter: &Arc<CallCounter>) -> Self {
        Clients {
            base: base.clone(),
            counter: counter.clone(),
            services: ServiceClients::default(),
            org_listings: Default::default(),
        }
    }
}

impl RegionClients {
    /// The organization's account listings made from any account, shared by the process
    /// (see [`super::org_listing`]).
    pub fn org_listings(&self) -> &super::org_listing::OrgListings {
        &self.clients.org_listings
    }
}
