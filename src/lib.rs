//! posture-exporter: the compliance and security posture of an AWS organization as Prometheus
//! metrics.
//!
//! Map of the modules, bottom layer first; a module imports only from those above it in this
//! list (its own children aside), which `tests/integration/layout.rs` checks:
//! - [`allocator`]: the binaries' allocator settings (freed memory returned at once).
//! - [`tls_auth`]: TLS with certificates re-read on change, bcrypt basic auth.
//! - [`metrics`]: the posture metric model, encoded through `prometheus-client` (OpenMetrics
//!   and Prometheus text 0.0.4).
//! - [`config`]: its children are the bottom layer: durations, problems, AWS identifier shapes,
//!   the `web`/`aws`/`targets` sections and the contract of a collector's section
//!   (`config::section`); `config` itself gathers every section (collectors' included) and
//!   reports every problem at once.
//! - [`aws`]: the services table (one entry per AWS service, one row per operation, from which
//!   the clients, rate-limit keys, labels and IAM actions come); one SDK client per service for
//!   the process; per-job scope (account, region, credentials); assume role; rate limits and the
//!   bound on calls in flight; call counting; pagination; error classification.
//! - [`collect`]: what every collector is: the `Collector` trait, a run's context and result.
//! - [`collectors`]: one folder per collector (`config.rs`, `api.rs`, `convert.rs`, `mod.rs`)
//!   and their list, one line each.
//! - [`store`]: the job table and freshness rule, readiness, the exposition cache, the
//!   exporter's own metrics, and the exceptions (accepted gaps) in force.
//! - [`targets`]: which (account, region, credentials) exist: static targets and discovery.
//! - [`scheduler`]: the only job runner: one loop per (collector, account, region) with
//!   interval, jitter, timeout, no overlap; reconciles the jobs when targets or config change.
//! - [`overview`]: what needs attention across the organization, from the snapshots held: the
//!   page at `/` and `/status.json`.
//! - [`server`]: `/metrics`, `/healthz`, `/ready`, `/`, `/status.json`.
//! - [`app`]: wires the above into a running daemon (used by `main`, `demo` and the tests).
//!
//! The simulated AWS that `demo`, the tests and the benchmarks run against is the `aws-sim` crate
//! (`crates/aws-sim`): it shares no code with this library.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod allocator;
pub mod app;
pub mod aws;
pub mod collect;
pub mod collectors;
pub mod config;
pub mod metrics;
pub mod overview;
pub mod scheduler;
pub mod server;
pub mod store;
pub mod targets;
pub mod tls_auth;
