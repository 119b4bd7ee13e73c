//! A simulated AWS on loopback, for posture-exporter's `demo`, its tests and its benchmarks.
//!
//! It answers the real wire protocols the SDK speaks: awsJson1_1 routed by `X-Amz-Target`
//! (Config, Organizations), restJson1 routed by path (GuardDuty, and Security Hub told apart by
//! its signing name) and awsQuery routed by `Action`
//! and the SigV4 credential scope's service (STS, IAM). The calling account is told from the
//! access key: keys that its own AssumeRole handed out carry the account id; any other key is the
//! management account. It serves a generated organization ([`world::World`]), counts calls per
//! operation, enforces an optional rate limit per (account, region, operation) with the real
//! throttling error of each protocol, and injects faults on demand ([`Fault`]).
//!
//! The exporter reaches it only through `aws.endpoint_url`, so what is tested is the real SDK
//! path: signing, retries, parsing. It shares no code with the exporter and uses no AWS SDK
//! crate, so neither side's mistakes can be agreed on by the other.
//!
//! Map of the modules, bottom layer first; a module imports only from those above it in this
//! list (its own children aside), which the workspace's `tests/integration/layout.rs` checks:
//! - [`body`]: the response body, whole or broken off mid-way.
//! - [`record`]: the requests recorded for the check against AWS's service models.
//! - [`wire`]: the three protocols' answers and error shapes, timestamps, pagination tokens.
//! - [`call`]: what a service handler sees of a call and gives back.
//! - [`constraints`]: what the service models refuse, checked before a handler sees a call.
//! - [`fault`]: the faults to inject and how they rewrite an answer.
//! - [`draw`]: the reference time and the hashes every generator draws from.
//! - [`world`]: the generated organization; its children hold what it keeps of each service
//!   (settings, generated definitions, test overrides).
//! - [`config_org_status`], [`config_flow`], [`guardduty_accounts`], [`securityhub_accounts`]:
//!   what the organization Config deployments, each account's Config data flow (service-linked
//!   recorders, recording groups, deliveries, rule evaluations), GuardDuty's and Security Hub's
//!   accounts are for a world,
//!   and the checks their operations' handlers share; [`securityhub_filters`]: Security Hub's
//!   ASFF and OCSF finding filters.
//! - The service handlers: [`organizations`], [`sts`], [`iam`], [`account`], [`config_compliance`],
//!   [`config_org_packs`], [`guardduty_lists`], [`guardduty_org`], [`securityhub_v2`]; then
//!   those that hand some
//!   operations to the ones before: [`config_org`] (packs), [`guardduty`] (its organization
//!   operations and lists), [`securityhub`] (the OCSF generation's operations), [`config`]
//!   (compliance and organization rules).
//! - [`routing`]: which service and operation a request is for, which account calls, and the
//!   handler that answers.
//! - [`server`]: the simulator on loopback ([`Sim`]): call counts, rate limits, faults.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod account;
pub mod body;
pub mod call;
pub mod config;
pub mod config_compliance;
pub mod config_flow;
pub mod config_org;
pub mod config_org_packs;
pub mod config_org_status;
pub mod constraints;
pub mod draw;
pub mod fault;
pub mod guardduty;
pub mod guardduty_accounts;
pub mod guardduty_findings;
pub mod guardduty_lists;
pub mod guardduty_org;
pub mod iam;
pub mod organizations;
pub mod record;
pub mod routing;
pub mod securityhub;
pub mod securityhub_accounts;
pub mod securityhub_filters;
pub mod securityhub_v2;
pub mod server;
pub mod sts;
pub mod wire;
pub mod world;

pub use call::{access_denied, Answer, Call};
pub use fault::{Fault, FaultRule};
pub use routing::{account_for_key, answer, parse_authorization, read_request, Routed};
pub use server::{serve, Sim, SimRateLimit, SimState};
pub use world::{World, WorldOptions};
