//! posture-exporter: the compliance and security posture of an AWS organization as Prometheus
//! metrics.
//!
//! Map of the modules:
//! - [`config`]: YAML schema, defaults, and a validation that lists every problem with its path.
//! - [`aws`]: SDK clients per (target, region): credentials and assume role, endpoint override,
//!   retries, rate limits and the bound on calls in flight, call counting, error classification.
//! - [`collectors`]: one folder per collector; `api.rs` holds the SDK calls, `convert.rs` the pure
//!   mapping to metric families.
//! - [`discovery`]: `discover: organizations` targets: ListAccounts, filters, assume-role fan-out.
//! - [`scheduler`]: one loop per (collector, account, region) with interval, jitter, timeout, no
//!   overlap; reconciles the set of jobs when targets change.
//! - [`store`]: the last snapshot per job, the freshness rule, the pre-encoded exposition.
//! - [`metrics`]: the metric model and the Prometheus / OpenMetrics text encoders.
//! - [`server`]: `/metrics`, `/healthz`, `/ready`, `/`.
//! - [`web`]: TLS with certificates re-read on change, bcrypt basic auth.
//! - [`app`]: wires the above into a running daemon (used by `main`, `demo` and the tests).
//!
//! The simulated AWS that `demo`, the tests and the benchmarks run against is the `aws-sim` crate
//! (`crates/aws-sim`): it shares no code with this library.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod aws;
pub mod collect;
pub mod collectors;
pub mod config;
pub mod metrics;
pub mod scheduler;
pub mod server;
pub mod store;
pub mod targets;
pub mod web;
