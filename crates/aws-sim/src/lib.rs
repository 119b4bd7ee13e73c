//! A simulated AWS on loopback, for posture-exporter's `demo`, its tests and its benchmarks.
//!
//! It answers the real wire protocols the SDK speaks: awsJson1_1 routed by `X-Amz-Target`
//! (Config, Organizations), restJson1 routed by path (GuardDuty) and awsQuery routed by `Action`
//! and the SigV4 credential scope's service (STS, IAM). The calling account is told from the
//! access key: keys that its own AssumeRole handed out carry the account id; any other key is the
//! management account. It serves a generated organization ([`world::World`]), counts calls per
//! operation, enforces an optional rate limit per (account, region, operation) with the real
//! throttling error of each protocol, and injects faults on demand ([`Fault`]).
//!
//! The exporter reaches it only through `aws.endpoint_url`, so what is tested is the real SDK
//! path: signing, retries, parsing. It shares no code with the exporter and uses no AWS SDK
//! crate, so neither side's mistakes can be agreed on by the other.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod body;
pub mod call;
pub mod config;
pub mod config_compliance;
pub mod config_org;
pub mod config_org_packs;
pub mod config_org_status;
pub mod constraints;
pub mod draw;
pub mod fault;
pub mod guardduty;
pub mod guardduty_accounts;
pub mod guardduty_lists;
pub mod guardduty_org;
pub mod iam;
pub mod organizations;
pub mod record;
pub mod routing;
pub mod server;
pub mod sts;
pub mod wire;
pub mod world;

pub use call::{access_denied, Answer, Call};
pub use fault::{Fault, FaultRule};
pub use routing::{account_for_key, answer, parse_authorization, read_request, Routed};
pub use server::{serve, Sim, SimRateLimit, SimState};
pub use world::{World, WorldOptions};
