//! `aws:` the SDK settings every target shares: home region, endpoint override, retries,
//! timeouts, the bound on calls in flight, and client-side rate limits.

use serde::Deserialize;

use super::duration::{d, HumanDuration};
use super::problem::Problems;
use super::shapes::valid_region;

/// `rate_limits:`, one key per service of the services table (`aws/services.rs`), with each
/// entry's default: the keys and their defaults are declared there, beside everything else about
/// the service, and the limiter they configure reads them from there.
pub use crate::aws::table::{RateLimit, RateLimits};

/// AWS SDK settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Home region: where organization-wide and global (IAM, STS, Organizations) calls go.
    #[serde(default = "default_region")]
    pub region: String,
    /// Send every AWS call to this URL instead of AWS (a simulator, a VPC endpoint proxy).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Attempts per call, the first included (retries use exponential backoff with jitter).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Time to establish a connection.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: HumanDuration,
    /// Time for one attempt of one call.
    #[serde(default = "default_attempt_timeout")]
    pub attempt_timeout: HumanDuration,
    /// Time for one call, retries included.
    #[serde(default = "default_operation_timeout")]
    pub operation_timeout: HumanDuration,
    /// Calls in flight at once, over all targets.
    #[serde(default = "default_max_concurrent_calls")]
    pub max_concurrent_calls: usize,
    /// Longest a throttled call keeps queueing again for a token of its slowed bucket (throttling
    /// is not retried within `max_attempts`). Never more than half its run's timeout, which is
    /// the default.
    #[serde(default)]
    pub throttle_retry_limit: Option<HumanDuration>,
    /// Client-side rate limits per (account, region, service); global services per account.
    /// Unset services keep their defaults.
    #[serde(default)]
    pub rate_limits: RateLimits,
}

fn default_region() -> String {
    "us-east-1".into()
}
fn default_max_attempts() -> u32 {
    5
}
fn default_connect_timeout() -> HumanDuration {
    d(5)
}
fn default_attempt_timeout() -> HumanDuration {
    d(20)
}
fn default_operation_timeout() -> HumanDuration {
    d(60)
}
fn default_max_concurrent_calls() -> usize {
    64
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            region: default_region(),
            endpoint_url: None,
            max_attempts: default_max_attempts(),
            connect_timeout: default_connect_timeout(),
            attempt_timeout: default_attempt_timeout(),
            operation_timeout: default_operation_timeout(),
            max_concurrent_calls: default_max_concurrent_calls(),
            throttle_retry_limit: None,
            rate_limits: RateLimits::default(),
        }
    }
}

impl AwsConfig {
    /// Adds every problem of the section.
    pub fn validate(&self, p: &mut Problems) {
        if !valid_region(&self.region) {
            p.at(
                "aws.region",
                format!("`{}` is not an AWS region name like us-east-1", self.region),
            );
        }
        if let Some(url) = &self.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || url.parse::<http::Uri>().is_err()
            {
                p.at(
                    "aws.endpoint_url",
                    format!("`{url}` is not an http:// or https:// URL"),
                );
            }
        }
        if !(1..=20).contains(&self.max_attempts) {
            p.at(
                "aws.max_attempts",
                format!("{} is out of range 1 to 20", self.max_attempts),
            );
        }
        for (name, v) in [
            ("connect_timeout", self.connect_timeout),
            ("attempt_timeout", self.attempt_timeout),
            ("operation_timeout", self.operation_timeout),
        ]
        .into_iter()
        .chain(
            self.throttle_retry_limit
                .map(|v| ("throttle_retry_limit", v)),
        ) {
            if v.0.is_zero() {
                p.at(format!("aws.{name}"), "must be more than 0s");
            }
        }
        if self.max_concurrent_calls == 0 {
            p.at("aws.max_concurrent_calls", "must be at least 1");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn rate_limits(yaml: &str) -> Result<RateLimits, Vec<(String, String)>> {
        let text = format!(
            "targets:\n  - name: management\n    regions: [us-east-1]\naws:\n  rate_limits:\n{yaml}"
        );
        Config::from_yaml_str(&text)
            .map(|c| c.aws.rate_limits)
            .map_err(|e| {
                e.problems
                    .into_iter()
                    .map(|p| (p.path, p.message))
                    .collect()
            })
    }

    #[test]
    fn rate_limits_keep_their_keys_defaults_and_messages() {
        // The keys and defaults users have been writing against: a service left out keeps its
        // default, one set replaces it whole.
        let r = rate_limits("    sts: {rate: 4, burst: 8}\n").unwrap();
        let limit = |rate, burst| RateLimit { rate, burst };
        assert_eq!(r.config, limit(5.0, 10.0));
        assert_eq!(r.guardduty, limit(10.0, 20.0));
        assert_eq!(r.iam, limit(5.0, 10.0));
        assert_eq!(r.organizations, limit(2.0, 5.0));
        assert_eq!(r.sts, limit(4.0, 8.0));
        assert_eq!(RateLimits::default().sts, limit(100.0, 100.0));
        assert_eq!(RateLimits::default().account, limit(5.0, 5.0));
        assert_eq!(
            rate_limits("    inspector: {rate: 1, burst: 1}\n").unwrap_err(),
            [(
                "aws.rate_limits.inspector".to_string(),
                "unknown field `inspector`, expected one of `config`, `guardduty`, \
                 `securityhub`, `iam`, `organizations`, `account`, `sts`"
                    .to_string()
            )]
        );
        assert_eq!(
            rate_limits("    config: {rate: fast, burst: 1}\n").unwrap_err(),
            [(
                "aws.rate_limits.config.rate".to_string(),
                "invalid type: string \"fast\", expected f64".to_string()
            )]
        );
        let missing = rate_limits("    iam: {rate: 1}\n").unwrap_err();
        assert_eq!(
            missing,
            [(
                "aws.rate_limits.iam".to_string(),
                "missing field `burst`".to_string()
            )]
        );
    }
}
