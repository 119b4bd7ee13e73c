//! What every benchmark sets up: a runtime, the regions of the simulated organization, the
//! management account's credentials, and the exporter's configuration over the simulator.

use aws_credential_types::Credentials;

/// The management account's key: the simulator takes any key that is not one of its own
/// assumed-role keys for the management account.
pub const ACCESS_KEY: &str = "AKIABENCHMANAGEMENT1";
/// The regions a simulated organization spans, the first `n` of them for `n` regions.
pub const REGIONS: &[&str] = &["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"];

/// Every collector the exporter has (so one added later is listed, and off unless asked for).
pub fn all_collectors() -> impl Iterator<Item = &'static str> {
    posture_exporter::collectors::CollectorKind::ALL
        .iter()
        .map(|k| k.name())
}

/// A multi-threaded runtime with `threads` workers (at least one).
pub fn runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?)
}

/// The first `n` of [`REGIONS`] (at least one, at most all).
pub fn regions(n: usize) -> Vec<String> {
    REGIONS[..n.clamp(1, REGIONS.len())]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Static credentials of the management account.
pub fn creds() -> Credentials {
    Credentials::new(ACCESS_KEY, "x", None, None, "bench")
}

/// A discovery config over the simulator at `url` with `collectors` enabled every `interval`
/// (1h in-process, so that a second cycle happens only when the benchmark asks for one).
pub fn discovery_yaml(
    url: &str,
    listen: &str,
    regions: &[String],
    collectors: &[&str],
    concurrency: usize,
    interval: &str,
) -> String {
    let mut y = format!(
        "listen: \"{listen}\"\naws:\n  region: us-east-1\n  endpoint_url: \"{url}\"\n  max_concurrent_calls: {concurrency}\n\
targets:\n  - name: org\n    discover: organizations\n    role_name: PostureExporterReadOnly\n    regions: [{}]\ncollectors:\n",
        regions.join(", ")
    );
    for c in all_collectors() {
        y.push_str(&format!(
            "  {c}:\n    enabled: {}\n    interval: {interval}\n",
            collectors.contains(&c)
        ));
    }
    y
}

/// The demo's collectors (everything but the IAM report, which needs entity paths).
pub const DEMO_COLLECTORS: &[&str] = &[
    "config_recorder",
    "config_org_rules",
    "config_aggregators",
    "guardduty",
];
