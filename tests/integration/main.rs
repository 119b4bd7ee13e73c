//! Integration tests: the simulated AWS and the exporter in-process, on real sockets (port 0).
//! One test binary, so the AWS SDK is linked once.

mod abuse;
mod aggregators;
mod cli;
mod common;
mod compliance;
mod config_corpus;
mod escaping;
mod faults;
mod fuzz;
mod fuzz_regressions;
mod golden;
mod guardduty;
mod guardduty_admin;
mod guardduty_lists;
mod iam;
mod layout;
mod longrun;
mod org_deployments;
mod overview;
mod policy;
mod recorder;
mod regions;
mod scale;
mod security_hub;
mod server;
mod verify;
mod web;
