//! The YAML configuration: schema, defaults, and a validation that reports every problem at once.
//!
//! Loading goes in three steps so that one run lists every problem, each with its path in the
//! file: the text is parsed to a YAML tree (a syntax error stops there, with its line); each
//! section, each target and each collector is then deserialized on its own, so one bad field does
//! not hide the next; last, [`Config::validate`] checks what types cannot (addresses, regions,
//! ARNs, account ids, cross references). Every struct denies unknown fields. Nothing here reads the
//! environment: defaults are plain functions, and tests load configs from strings.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_yaml::Value;

/// A configuration file problem: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path in the file, like `collectors.guardduty.interval` or `targets[1].regions[0]`.
    pub path: String,
    /// Line in the file, where the YAML parser gave one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(top level)"
        } else {
            &self.path
        };
        match self.line {
            Some(l) => write!(f, "{path} (line {l}): {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Every problem found in a configuration.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The problems, in file order where known.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid configuration ({} problem{}):",
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

/// A duration written like `30s`, `5m`, `6h`, `1h30m`, `500ms` or `1d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// Parses `30s`, `5m`, `1h30m`, `250ms`, `2d`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty duration".into());
        }
        let mut total: u128 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return Err(format!(
                    "invalid duration `{s}`: expected a number followed by ms, s, m, h or d (e.g. 30s, 5m, 1h30m)"
                ));
            }
            let n: u128 = rest[..digits]
                .parse()
                .map_err(|_| format!("invalid duration `{s}`: number too large"))?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let ms: u128 = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "" => {
                    return Err(format!(
                        "invalid duration `{s}`: missing unit (ms, s, m, h or d)"
                    ))
                }
                other => {
                    return Err(format!(
                        "invalid duration `{s}`: unknown unit `{other}` (use ms, s, m, h or d)"
                    ))
                }
            };
            total = total
                .checked_add(n.saturating_mul(ms))
                .ok_or_else(|| format!("invalid duration `{s}`: too large"))?;
        }
        if total > u64::MAX as u128 / 2 {
            return Err(format!("invalid duration `{s}`: too large"));
        }
        Ok(HumanDuration(Duration::from_millis(total as u64)))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms == 0 {
            return write!(f, "0s");
        }
        if ms % 1000 != 0 {
            return write!(f, "{ms}ms");
        }
        let mut s = (ms / 1000) as u64;
        for (unit, len) in [("d", 86_400u64), ("h", 3_600), ("m", 60), ("s", 1)] {
            if s >= len {
                write!(f, "{}{unit}", s / len)?;
                s %= len;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HumanDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn d(secs: u64) -> HumanDuration {
    HumanDuration(Duration::from_secs(secs))
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// How many failed runs in a row keep a job's last good values before they are dropped.
    pub max_stale_intervals: u32,
    /// HTTP server settings.
    pub web: WebConfig,
    /// AWS SDK settings shared by every target.
    pub aws: AwsConfig,
    /// The accounts to read.
    pub targets: Vec<TargetConfig>,
    /// Collector settings.
    pub collectors: CollectorsConfig,
    /// This replica's share of the accounts (`i/n`); everything when absent.
    pub shard: Shard,
}

/// HTTPS settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain; re-read when it changes on disk.
    pub cert_file: std::path::PathBuf,
    /// PEM private key; re-read when it changes on disk.
    pub key_file: std::path::PathBuf,
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Serve HTTPS with these files (decided at start; a reload may name other files).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Users and their bcrypt hashes (as in the Prometheus exporter-toolkit's web config);
    /// everything but /healthz and /ready then needs basic auth.
    #[serde(default)]
    pub basic_auth_users: std::collections::BTreeMap<String, String>,
    /// Time a client has to send its request headers.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout: HumanDuration,
    /// Connections served at once; further ones wait in the kernel's backlog.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// How long shutdown waits for open connections to finish.
    #[serde(default = "default_shutdown_grace")]
    pub shutdown_grace: HumanDuration,
}

fn default_header_read_timeout() -> HumanDuration {
    d(10)
}
fn default_max_connections() -> usize {
    512
}
fn default_shutdown_grace() -> HumanDuration {
    d(5)
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            tls: None,
            basic_auth_users: Default::default(),
            header_read_timeout: default_header_read_timeout(),
            max_connections: default_max_connections(),
            shutdown_grace: default_shutdown_grace(),
        }
    }
}

/// AWS SDK settings.
#[derive(Debug, Clone, Deserialize)]
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
    /// Client-side rate limits per (account, region, service); global services per account.
    #[serde(default)]
    pub rate_limits: RateLimits,
}

/// A token bucket: `rate` calls a second on average, `burst` at once.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Calls a second (0 disables the limit).
    pub rate: f64,
    /// Calls that may go at once after a quiet period.
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            rate: 5.0,
            burst: 10.0,
        }
    }
}

/// Rate limits per service. The defaults stay below the request rates AWS documents for the
/// read APIs the exporter calls, leaving room for other tools in the same accounts.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// AWS Config, per account and region.
    #[serde(default = "rl_config")]
    pub config: RateLimit,
    /// GuardDuty, per account and region.
    #[serde(default = "rl_guardduty")]
    pub guardduty: RateLimit,
    /// IAM, per account (global service).
    #[serde(default = "rl_iam")]
    pub iam: RateLimit,
    /// Organizations, per account (global service).
    #[serde(default = "rl_organizations")]
    pub organizations: RateLimit,
    /// STS, per account and region.
    #[serde(default = "rl_sts")]
    pub sts: RateLimit,
}

fn rl_config() -> RateLimit {
    RateLimit {
        rate: 5.0,
        burst: 10.0,
    }
}
fn rl_guardduty() -> RateLimit {
    RateLimit {
        rate: 10.0,
        burst: 20.0,
    }
}
fn rl_iam() -> RateLimit {
    RateLimit {
        rate: 5.0,
        burst: 10.0,
    }
}
fn rl_organizations() -> RateLimit {
    RateLimit {
        rate: 2.0,
        burst: 5.0,
    }
}
fn rl_sts() -> RateLimit {
    RateLimit {
        rate: 20.0,
        burst: 40.0,
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            config: rl_config(),
            guardduty: rl_guardduty(),
            iam: rl_iam(),
            organizations: rl_organizations(),
            sts: rl_sts(),
        }
    }
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
            rate_limits: RateLimits::default(),
        }
    }
}

/// One account to read, with ambient credentials or through an assumed role.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// A name for logs and the status page; unique.
    pub name: String,
    /// Role to assume (through STS) before calling; ambient credentials when absent.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// External id the role's trust policy requires.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Session name of the assumed role.
    #[serde(default)]
    pub session_name: Option<String>,
    /// Session duration of assumed roles (15m to 12h; AWS's default 1h when absent).
    #[serde(default)]
    pub session_duration: Option<HumanDuration>,
    /// Regions read in this account (for `discover`, in every discovered account).
    pub regions: Vec<String>,
    /// `organizations`: list every ACTIVE account of the organization (from this target's
    /// credentials: the management or a delegated administrator account) and read each one by
    /// assuming `role_name` in it.
    #[serde(default)]
    pub discover: Option<Discover>,
    /// With `discover`: the role to assume in each account.
    #[serde(default)]
    pub role_name: Option<String>,
    /// With `discover`: only these account ids (all when empty).
    #[serde(default)]
    pub include_accounts: Vec<String>,
    /// With `discover`: never these account ids.
    #[serde(default)]
    pub exclude_accounts: Vec<String>,
    /// With `discover`: only accounts under these OUs or roots, at any depth (all when empty).
    #[serde(default)]
    pub include_ous: Vec<String>,
    /// With `discover`: never accounts under these OUs, at any depth.
    #[serde(default)]
    pub exclude_ous: Vec<String>,
    /// With `discover`: how often the account list is refreshed.
    #[serde(default = "default_refresh_interval")]
    pub refresh_interval: HumanDuration,
}

fn default_refresh_interval() -> HumanDuration {
    d(3600)
}

/// Sources of discovered accounts.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Discover {
    /// AWS Organizations ListAccounts.
    Organizations,
}

/// One replica's share of the accounts: `index` of `count`, by a stable hash of the account id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This replica's index, from 0.
    pub index: u32,
    /// Number of replicas.
    pub count: u32,
}

impl Shard {
    /// Parses `i/n`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not a shard like 0/3"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: `{i}` is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: `{n}` is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "`{s}`: the index must be below the count, which must be at least 1"
            ));
        }
        Ok(Shard { index, count })
    }

    /// True when `account_id` belongs to this shard. The hash (FNV-1a, 64 bit) is fixed so
    /// that replicas of any version agree.
    pub fn contains(&self, account_id: &str) -> bool {
        let mut h: u64 = 0xcbf29ce484222325;
        for b in account_id.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        h % self.count as u64 == self.index as u64
    }

    /// Whether organization-wide collectors run here: on shard 0 only, so they run once.
    pub fn runs_org_collectors(&self) -> bool {
        self.index == 0
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

/// Settings shared by every collector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorConfig {
    /// Run this collector.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Time between two runs of one job.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// Longest a run may take; defaults to the interval, at most 5m.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
}

fn yes() -> bool {
    true
}
fn default_interval() -> HumanDuration {
    d(300)
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            enabled: true,
            interval: default_interval(),
            timeout: None,
        }
    }
}

impl CollectorConfig {
    /// The effective per-run timeout.
    pub fn run_timeout(&self) -> Duration {
        self.timeout
            .map(|t| t.0)
            .unwrap_or_else(|| self.interval.0.min(Duration::from_secs(300)))
    }
}

/// The member-account statuses of an organization Config rule, as the API spells them.
pub const MEMBER_STATUSES: &[&str] = &[
    "CREATE_SUCCESSFUL",
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "DELETE_SUCCESSFUL",
    "DELETE_FAILED",
    "DELETE_IN_PROGRESS",
    "UPDATE_SUCCESSFUL",
    "UPDATE_IN_PROGRESS",
    "UPDATE_FAILED",
];

/// `config_org_rules`: organization Config rules and their deployment per member account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgRulesConfig {
    /// Run this collector.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Time between two runs.
    #[serde(default = "default_org_interval")]
    pub interval: HumanDuration,
    /// Longest a run may take; defaults to the interval, at most 5m.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Name of the target (management or delegated administrator account) to call from;
    /// defaults to the first target.
    #[serde(default)]
    pub target: Option<String>,
    /// Region of the organization rules; defaults to `aws.region`.
    #[serde(default)]
    pub region: Option<String>,
    /// Member statuses listed account by account in `aws_config_org_rule_member_status`.
    #[serde(default = "default_detail_statuses")]
    pub detail_statuses: Vec<String>,
}

fn default_org_interval() -> HumanDuration {
    d(600)
}
fn default_detail_statuses() -> Vec<String> {
    vec![
        "CREATE_FAILED".into(),
        "UPDATE_FAILED".into(),
        "DELETE_FAILED".into(),
    ]
}

impl Default for OrgRulesConfig {
    fn default() -> Self {
        OrgRulesConfig {
            enabled: true,
            interval: default_org_interval(),
            timeout: None,
            target: None,
            region: None,
            detail_statuses: default_detail_statuses(),
        }
    }
}

impl OrgRulesConfig {
    /// The settings every collector has.
    pub fn common(&self) -> CollectorConfig {
        CollectorConfig {
            enabled: self.enabled,
            interval: self.interval,
            timeout: self.timeout,
        }
    }
}

/// `config_aggregators`: configuration aggregators and their sources.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregatorsConfig {
    /// Run this collector.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Time between two runs.
    #[serde(default = "default_org_interval")]
    pub interval: HumanDuration,
    /// Longest a run may take; defaults to the interval, at most 5m.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Name of the target holding the aggregators; defaults to the first target.
    #[serde(default)]
    pub target: Option<String>,
    /// Regions holding aggregators; defaults to `aws.region`.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
}

impl Default for AggregatorsConfig {
    fn default() -> Self {
        AggregatorsConfig {
            enabled: true,
            interval: default_org_interval(),
            timeout: None,
            target: None,
            regions: None,
        }
    }
}

impl AggregatorsConfig {
    /// The settings every collector has.
    pub fn common(&self) -> CollectorConfig {
        CollectorConfig {
            enabled: self.enabled,
            interval: self.interval,
            timeout: self.timeout,
        }
    }
}

/// `iam_access_report`: the IAM Organizations access report of each entity path.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamReportConfig {
    /// Run this collector (it runs only when `entity_paths` is not empty).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Age at which a completed report is generated anew.
    #[serde(default = "default_iam_interval")]
    pub interval: HumanDuration,
    /// Longest a run may take; defaults to the interval, at most 5m.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// How often a report in progress is polled.
    #[serde(default = "default_iam_poll")]
    pub poll_interval: HumanDuration,
    /// Name of the target (management account) to call from; defaults to the first target.
    #[serde(default)]
    pub target: Option<String>,
    /// Organization entities to report on: `o-xxx/r-xxx[/ou-xxx...][/123456789012]`.
    #[serde(default)]
    pub entity_paths: Vec<String>,
}

fn default_iam_interval() -> HumanDuration {
    d(6 * 3600)
}
fn default_iam_poll() -> HumanDuration {
    d(30)
}

impl Default for IamReportConfig {
    fn default() -> Self {
        IamReportConfig {
            enabled: true,
            interval: default_iam_interval(),
            timeout: None,
            poll_interval: default_iam_poll(),
            target: None,
            entity_paths: Vec::new(),
        }
    }
}

impl IamReportConfig {
    /// The settings every collector has.
    pub fn common(&self) -> CollectorConfig {
        CollectorConfig {
            enabled: self.enabled,
            interval: self.interval,
            timeout: self.timeout,
        }
    }
}

/// Collector sections.
#[derive(Debug, Clone, Default)]
pub struct CollectorsConfig {
    /// AWS Config recorder status per account and region.
    pub config_recorder: CollectorConfig,
    /// Organization Config rules.
    pub config_org_rules: OrgRulesConfig,
    /// Configuration aggregators.
    pub config_aggregators: AggregatorsConfig,
    /// GuardDuty per account and region.
    pub guardduty: CollectorConfig,
    /// IAM Organizations access reports.
    pub iam_access_report: IamReportConfig,
}

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read(path).map_err(|e| ConfigError {
            problems: vec![Problem {
                path: String::new(),
                line: None,
                message: format!("cannot read {}: {e}", path.display()),
            }],
        })?;
        let text = String::from_utf8(text).map_err(|e| ConfigError {
            problems: vec![Problem {
                path: String::new(),
                line: None,
                message: format!(
                    "{} is not UTF-8 text (invalid byte at offset {})",
                    path.display(),
                    e.utf8_error().valid_up_to()
                ),
            }],
        })?;
        Config::from_yaml_str(&text)
    }

    /// Parses and validates YAML text.
    pub fn from_yaml_str(text: &str) -> Result<Config, ConfigError> {
        // YAML aliases replay whole subtrees: a few KiB can stand for billions of nodes, and
        // serde_yaml's own limit counts alias jumps, not what they replay. Walk the document
        // once with a budget that allocates nothing before building the tree.
        if let Err(e) = node_budget(text, MAX_NODES) {
            return Err(ConfigError {
                problems: vec![Problem {
                    path: String::new(),
                    line: e.location().map(|l| l.line()),
                    message: e.to_string(),
                }],
            });
        }
        let mut problems = Vec::new();
        let root: Value = match serde_yaml::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return Err(ConfigError {
                    problems: vec![Problem {
                        path: String::new(),
                        line: e.location().map(|l| l.line()),
                        message: e.to_string(),
                    }],
                })
            }
        };
        let map = match root {
            Value::Mapping(m) => m,
            Value::Null => {
                return Err(ConfigError {
                    problems: vec![Problem {
                        path: String::new(),
                        line: None,
                        message: "the file is empty; at least `targets` is required".into(),
                    }],
                })
            }
            other => {
                return Err(ConfigError {
                    problems: vec![Problem {
                        path: String::new(),
                        line: None,
                        message: format!("expected a mapping of settings, found {}", kind(&other)),
                    }],
                })
            }
        };

        let mut cfg = Config {
            listen: "0.0.0.0:9946".into(),
            max_stale_intervals: 3,
            web: WebConfig::default(),
            aws: AwsConfig::default(),
            targets: Vec::new(),
            collectors: CollectorsConfig::default(),
            shard: Shard::default(),
        };
        let mut saw_targets = false;
        for (k, v) in map {
            let Some(key) = k.as_str().map(str::to_string) else {
                problems.push(Problem {
                    path: String::new(),
                    line: None,
                    message: format!("keys must be strings, found {}", kind(&k)),
                });
                continue;
            };
            match key.as_str() {
                "listen" => {
                    if let Some(x) = section::<String>(v, "listen", &mut problems) {
                        cfg.listen = x;
                    }
                }
                "max_stale_intervals" => {
                    if let Some(x) = section::<u32>(v, "max_stale_intervals", &mut problems) {
                        cfg.max_stale_intervals = x;
                    }
                }
                "web" => {
                    if let Some(x) = section::<WebConfig>(v, "web", &mut problems) {
                        cfg.web = x;
                    }
                }
                "aws" => {
                    if let Some(x) = section::<AwsConfig>(v, "aws", &mut problems) {
                        cfg.aws = x;
                    }
                }
                "targets" => {
                    saw_targets = true;
                    match v {
                        Value::Sequence(seq) => {
                            for (i, t) in seq.into_iter().enumerate() {
                                if let Some(x) =
                                    section::<TargetConfig>(t, &format!("targets[{i}]"), &mut problems)
                                {
                                    cfg.targets.push(x);
                                }
                            }
                        }
                        Value::Null => {}
                        other => problems.push(Problem {
                            path: "targets".into(),
                            line: None,
                            message: format!("expected a list of targets, found {}", kind(&other)),
                        }),
                    }
                }
                "collectors" => cfg.collectors = collectors(v, &mut problems),
                "shard" => {
                    if let Some(x) = section::<String>(v, "shard", &mut problems) {
                        match Shard::parse(&x) {
                            Ok(sh) => cfg.shard = sh,
                            Err(m) => problems.push(Problem {
                                path: "shard".into(),
                                line: None,
                                message: m,
                            }),
                        }
                    }
                }
                other => problems.push(Problem {
                    path: other.to_string(),
                    line: None,
                    message: format!(
                        "unknown setting `{other}`, expected one of `listen`, `max_stale_intervals`, `web`, `aws`, `targets`, `collectors`, `shard`"
                    ),
                }),
            }
        }
        if !saw_targets {
            problems.push(Problem {
                path: "targets".into(),
                line: None,
                message: "missing: at least one target is required".into(),
            });
        }
        cfg.validate_into(&mut problems, saw_targets);
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigError { problems })
        }
    }

    /// Checks what the types cannot; every problem is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        self.validate_into(&mut problems, true);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }

    fn validate_into(&self, problems: &mut Vec<Problem>, targets_present: bool) {
        let mut p = |path: String, message: String| {
            problems.push(Problem {
                path,
                line: None,
                message,
            })
        };
        if self.listen.parse::<SocketAddr>().is_err() {
            p(
                "listen".into(),
                format!(
                    "`{}` is not an address with a port, like 0.0.0.0:9946 or [::1]:9946",
                    self.listen
                ),
            );
        }
        if self.max_stale_intervals == 0 {
            p("max_stale_intervals".into(), "must be at least 1".into());
        }
        if self.web.max_connections == 0 {
            p("web.max_connections".into(), "must be at least 1".into());
        }
        if let Some(tls) = &self.web.tls {
            if let Err(e) = crate::web::load_certified_key(&tls.cert_file, &tls.key_file) {
                p("web.tls".into(), e);
            }
        }
        for (user, hash) in &self.web.basic_auth_users {
            if user.is_empty() || user.contains(':') {
                p(
                    "web.basic_auth_users".into(),
                    format!("`{user}` is not a user name (no `:`)"),
                );
            }
            if !looks_like_bcrypt(hash) {
                p(
                    format!("web.basic_auth_users.{user}"),
                    "is not a bcrypt hash ($2a$/$2b$/$2y$, 60 characters); make one with `htpasswd -nBC 10 user`".into(),
                );
            }
        }
        if self.web.header_read_timeout.0.is_zero() {
            p(
                "web.header_read_timeout".into(),
                "must be more than 0s".into(),
            );
        }
        if !valid_region(&self.aws.region) {
            p(
                "aws.region".into(),
                format!(
                    "`{}` is not an AWS region name like us-east-1",
                    self.aws.region
                ),
            );
        }
        if let Some(url) = &self.aws.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || url.parse::<http::Uri>().is_err()
            {
                p(
                    "aws.endpoint_url".into(),
                    format!("`{url}` is not an http:// or https:// URL"),
                );
            }
        }
        if !(1..=20).contains(&self.aws.max_attempts) {
            p(
                "aws.max_attempts".into(),
                format!("{} is out of range 1 to 20", self.aws.max_attempts),
            );
        }
        for (name, v) in [
            ("connect_timeout", self.aws.connect_timeout),
            ("attempt_timeout", self.aws.attempt_timeout),
            ("operation_timeout", self.aws.operation_timeout),
        ] {
            if v.0.is_zero() {
                p(format!("aws.{name}"), "must be more than 0s".into());
            }
        }
        if self.aws.max_concurrent_calls == 0 {
            p(
                "aws.max_concurrent_calls".into(),
                "must be at least 1".into(),
            );
        }
        if targets_present && self.targets.is_empty() {
            p(
                "targets".into(),
                "the list is empty: at least one target is required".into(),
            );
        }
        let mut names = BTreeSet::new();
        for (i, t) in self.targets.iter().enumerate() {
            let at = format!("targets[{i}]");
            if t.name.trim().is_empty() {
                p(format!("{at}.name"), "must not be empty".into());
            } else if !names.insert(t.name.clone()) {
                p(
                    format!("{at}.name"),
                    format!(
                        "`{}` is used by an earlier target; names must be unique",
                        t.name
                    ),
                );
            }
            if t.regions.is_empty() {
                p(
                    format!("{at}.regions"),
                    "the list is empty: at least one region is required".into(),
                );
            }
            let mut seen = BTreeSet::new();
            for (j, r) in t.regions.iter().enumerate() {
                if !valid_region(r) {
                    p(
                        format!("{at}.regions[{j}]"),
                        format!("`{r}` is not an AWS region name like eu-west-1"),
                    );
                } else if !seen.insert(r) {
                    p(
                        format!("{at}.regions[{j}]"),
                        format!("`{r}` is listed twice"),
                    );
                }
            }
            if let Some(arn) = &t.role_arn {
                if role_arn_account(arn).is_none() {
                    p(
                        format!("{at}.role_arn"),
                        format!(
                            "`{arn}` is not an IAM role ARN like arn:aws:iam::123456789012:role/Name"
                        ),
                    );
                }
            }
            let assumes = t.role_arn.is_some() || t.discover.is_some();
            if !assumes
                && (t.external_id.is_some()
                    || t.session_name.is_some()
                    || t.session_duration.is_some())
            {
                p(
                    at.clone(),
                    "external_id, session_name and session_duration only apply with role_arn or discover".into(),
                );
            }
            if let Some(dur) = t.session_duration {
                if dur.0 < Duration::from_secs(900) || dur.0 > Duration::from_secs(43_200) {
                    p(
                        format!("{at}.session_duration"),
                        "must be between 15m and 12h".into(),
                    );
                }
            }
            match (&t.discover, &t.role_name) {
                (Some(_), None) => p(
                    format!("{at}.role_name"),
                    "required with discover: the role to assume in each discovered account".into(),
                ),
                (None, Some(_)) => p(
                    format!("{at}.role_name"),
                    "only applies with discover (use role_arn for a single account)".into(),
                ),
                (Some(_), Some(r)) => {
                    if r.is_empty() || r.len() > 64 || r.contains(':') || r.contains('/') {
                        p(
                            format!("{at}.role_name"),
                            format!("`{r}` is not a role name"),
                        );
                    }
                }
                (None, None) => {}
            }
            if t.discover.is_none()
                && (!t.include_accounts.is_empty()
                    || !t.exclude_accounts.is_empty()
                    || !t.include_ous.is_empty()
                    || !t.exclude_ous.is_empty())
            {
                p(
                    at.clone(),
                    "include_*/exclude_* only apply with discover".into(),
                );
            }
            for (field, list) in [
                ("include_accounts", &t.include_accounts),
                ("exclude_accounts", &t.exclude_accounts),
            ] {
                for (j, a) in list.iter().enumerate() {
                    if !valid_account_id(a) {
                        p(
                            format!("{at}.{field}[{j}]"),
                            format!("`{a}` is not a 12-digit account id"),
                        );
                    }
                }
            }
            for (field, list) in [
                ("include_ous", &t.include_ous),
                ("exclude_ous", &t.exclude_ous),
            ] {
                for (j, o) in list.iter().enumerate() {
                    if !valid_ou_or_root(o) {
                        p(
                            format!("{at}.{field}[{j}]"),
                            format!("`{o}` is not an OU id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)"),
                        );
                    }
                }
            }
            if t.refresh_interval.0 < Duration::from_secs(10) {
                p(
                    format!("{at}.refresh_interval"),
                    "must be at least 10s".into(),
                );
            }
            if let Some(x) = &t.external_id {
                if x.len() < 2 || x.len() > 1224 {
                    p(
                        format!("{at}.external_id"),
                        "must be 2 to 1224 characters".into(),
                    );
                }
            }
            if let Some(s) = &t.session_name {
                if !valid_session_name(s) {
                    p(
                        format!("{at}.session_name"),
                        format!("`{s}` must be 2 to 64 characters of letters, digits and +=,.@_-"),
                    );
                }
            }
        }
        let cs = &self.collectors;
        check_collector("collectors.config_recorder", &cs.config_recorder, &mut p);
        check_collector("collectors.guardduty", &cs.guardduty, &mut p);
        check_collector(
            "collectors.config_org_rules",
            &cs.config_org_rules.common(),
            &mut p,
        );
        check_collector(
            "collectors.config_aggregators",
            &cs.config_aggregators.common(),
            &mut p,
        );
        check_collector(
            "collectors.iam_access_report",
            &cs.iam_access_report.common(),
            &mut p,
        );
        let target_names: BTreeSet<&str> = self.targets.iter().map(|t| t.name.as_str()).collect();
        for (path, target) in [
            (
                "collectors.config_org_rules.target",
                &cs.config_org_rules.target,
            ),
            (
                "collectors.config_aggregators.target",
                &cs.config_aggregators.target,
            ),
            (
                "collectors.iam_access_report.target",
                &cs.iam_access_report.target,
            ),
        ] {
            if let Some(t) = target {
                if !target_names.contains(t.as_str()) {
                    p(path.into(), format!("no target is named `{t}`"));
                }
            }
        }
        for (i, s) in cs.config_org_rules.detail_statuses.iter().enumerate() {
            if !MEMBER_STATUSES.contains(&s.as_str()) {
                p(
                    format!("collectors.config_org_rules.detail_statuses[{i}]"),
                    format!(
                        "`{s}` is not a member account status; expected one of {}",
                        MEMBER_STATUSES.join(", ")
                    ),
                );
            }
        }
        if let Some(r) = &cs.config_org_rules.region {
            if !valid_region(r) {
                p(
                    "collectors.config_org_rules.region".into(),
                    format!("`{r}` is not an AWS region name"),
                );
            }
        }
        if let Some(rs) = &cs.config_aggregators.regions {
            if rs.is_empty() {
                p(
                    "collectors.config_aggregators.regions".into(),
                    "the list is empty; omit it to use aws.region".into(),
                );
            }
            for (i, r) in rs.iter().enumerate() {
                if !valid_region(r) {
                    p(
                        format!("collectors.config_aggregators.regions[{i}]"),
                        format!("`{r}` is not an AWS region name"),
                    );
                }
            }
        }
        if cs.iam_access_report.poll_interval.0 < Duration::from_secs(1) {
            p(
                "collectors.iam_access_report.poll_interval".into(),
                "must be at least 1s".into(),
            );
        }
        for (i, e) in cs.iam_access_report.entity_paths.iter().enumerate() {
            if !valid_entity_path(e) {
                p(
                    format!("collectors.iam_access_report.entity_paths[{i}]"),
                    format!("`{e}` is not an organization entity path like o-a1b2c3d4e5/r-f6g7h8i9/ou-f6g7-h8i9j0k1"),
                );
            }
        }
    }

    /// The target used by organization-wide collectors when none is named: the first one.
    pub fn default_org_target(&self) -> Option<&TargetConfig> {
        self.targets.first()
    }

    /// The target name and regions an organization collector runs with.
    pub fn org_placement(
        &self,
        kind: crate::collectors::CollectorKind,
    ) -> Option<(String, Vec<String>)> {
        use crate::collectors::CollectorKind as K;
        let cs = &self.collectors;
        let (target, regions) = match kind {
            K::ConfigOrgRules => (
                cs.config_org_rules.target.clone(),
                vec![cs
                    .config_org_rules
                    .region
                    .clone()
                    .unwrap_or_else(|| self.aws.region.clone())],
            ),
            K::ConfigAggregators => (
                cs.config_aggregators.target.clone(),
                cs.config_aggregators
                    .regions
                    .clone()
                    .unwrap_or_else(|| vec![self.aws.region.clone()]),
            ),
            K::IamAccessReport => (
                cs.iam_access_report.target.clone(),
                vec![self.aws.region.clone()],
            ),
            _ => return None,
        };
        let target = target.or_else(|| self.default_org_target().map(|t| t.name.clone()))?;
        Some((target, regions))
    }
}

/// More nodes than any sensible configuration has, aliases expanded.
const MAX_NODES: usize = 100_000;

/// Counts the nodes of a YAML document, aliases expanded, and fails past `max` without
/// allocating: a YAML alias bomb is refused in milliseconds. Syntax errors pass through (the
/// real parse reports them with their line).
fn node_budget(text: &str, max: usize) -> Result<(), serde_yaml::Error> {
    use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
    use std::cell::Cell;

    struct Count<'a>(&'a Cell<usize>, usize);
    impl Count<'_> {
        fn bump<E: serde::de::Error>(&self) -> Result<(), E> {
            self.0.set(self.0.get() + 1);
            if self.0.get() > self.1 {
                Err(E::custom(format!(
                    "the document expands to more than {} nodes (YAML aliases?); refused",
                    self.1
                )))
            } else {
                Ok(())
            }
        }
        fn again(&self) -> Count<'_> {
            Count(self.0, self.1)
        }
    }
    impl<'de> DeserializeSeed<'de> for Count<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Count<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any YAML value")
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
            self.bump()
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
            self.bump()
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
            self.bump()
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
            self.bump()
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
            self.bump()
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
            self.bump()
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
            self.bump()
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            self.bump()?;
            self.again().deserialize(d)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            self.bump()?;
            while seq.next_element_seed(self.again())?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            self.bump()?;
            while map.next_key_seed(self.again())?.is_some() {
                map.next_value_seed(self.again())?;
            }
            Ok(())
        }
        fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
            use serde::de::VariantAccess;
            self.bump()?;
            let (_, v) = data.variant_seed(self.again())?;
            v.newtype_variant_seed(self.again())
        }
    }
    let cell = Cell::new(0);
    match Count(&cell, max).deserialize(serde_yaml::Deserializer::from_str(text)) {
        Ok(()) => Ok(()),
        // Only the budget is this walk's business.
        Err(e) if e.to_string().contains("nodes (YAML aliases?)") => Err(e),
        Err(_) => Ok(()),
    }
}

fn check_collector(path: &str, c: &CollectorConfig, p: &mut impl FnMut(String, String)) {
    if c.interval.0 < Duration::from_secs(1) {
        p(format!("{path}.interval"), "must be at least 1s".into());
    }
    if let Some(t) = c.timeout {
        if t.0.is_zero() {
            p(format!("{path}.timeout"), "must be more than 0s".into());
        }
    }
}

fn collectors(v: Value, problems: &mut Vec<Problem>) -> CollectorsConfig {
    let mut out = CollectorsConfig::default();
    let map = match v {
        Value::Mapping(m) => m,
        Value::Null => return out,
        other => {
            problems.push(Problem {
                path: "collectors".into(),
                line: None,
                message: format!("expected a mapping of collectors, found {}", kind(&other)),
            });
            return out;
        }
    };
    for (k, v) in map {
        let key = k.as_str().unwrap_or("").to_string();
        let path = format!("collectors.{key}");
        match key.as_str() {
            "config_recorder" => {
                if let Some(x) = section(v, &path, problems) {
                    out.config_recorder = x;
                }
            }
            "config_org_rules" => {
                if let Some(x) = section(v, &path, problems) {
                    out.config_org_rules = x;
                }
            }
            "config_aggregators" => {
                if let Some(x) = section(v, &path, problems) {
                    out.config_aggregators = x;
                }
            }
            "guardduty" => {
                if let Some(x) = section(v, &path, problems) {
                    out.guardduty = x;
                }
            }
            "iam_access_report" => {
                if let Some(x) = section(v, &path, problems) {
                    out.iam_access_report = x;
                }
            }
            other => problems.push(Problem {
                path,
                line: None,
                message: format!(
                    "unknown collector `{other}`, expected one of {}",
                    crate::collectors::CollectorKind::ALL
                        .iter()
                        .map(|c| format!("`{}`", c.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }
    out
}

fn section<T: DeserializeOwned>(v: Value, path: &str, problems: &mut Vec<Problem>) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.path().to_string();
            let full = if inner == "." || inner.is_empty() {
                path.to_string()
            } else if inner.starts_with('[') {
                format!("{path}{inner}")
            } else {
                format!("{path}.{inner}")
            };
            problems.push(Problem {
                path: full,
                line: None,
                message: e.into_inner().to_string(),
            });
            None
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// True for names shaped like AWS regions (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`).
pub fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && {
            let last = parts[parts.len() - 1];
            !last.is_empty() && last.len() <= 2 && last.bytes().all(|b| b.is_ascii_digit())
        }
}

/// True for a 12-digit AWS account id.
pub fn valid_account_id(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

/// The account id of an IAM role ARN, or `None` when `arn` is not one.
pub fn role_arn_account(arn: &str) -> Option<&str> {
    let mut it = arn.splitn(6, ':');
    let (arn_lit, partition, service, region, account, resource) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    let ok = arn_lit == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && valid_account_id(account)
        && resource.starts_with("role/")
        && resource.len() > "role/".len();
    ok.then_some(account)
}

/// True for `ou-xxxx-xxxxxxxx` and `r-xxxx` ids.
pub fn valid_ou_or_root(s: &str) -> bool {
    let lower_alnum = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    if let Some(r) = s.strip_prefix("r-") {
        return (4..=32).contains(&r.len()) && lower_alnum(r);
    }
    s.strip_prefix("ou-")
        .and_then(|x| x.split_once('-'))
        .is_some_and(|(a, b)| {
            (4..=32).contains(&a.len())
                && lower_alnum(a)
                && (8..=32).contains(&b.len())
                && lower_alnum(b)
        })
}

/// True for an organization entity path: `o-` id, `r-` root, then OUs and at most one account.
pub fn valid_entity_path(p: &str) -> bool {
    fn lower_alnum(s: &str) -> bool {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }
    if p.len() < 19 || p.len() > 427 {
        return false;
    }
    let parts: Vec<&str> = p.trim_end_matches('/').split('/').collect();
    if parts.len() < 2 {
        return false;
    }
    let org_ok = parts[0]
        .strip_prefix("o-")
        .is_some_and(|s| (10..=32).contains(&s.len()) && lower_alnum(s));
    let root_ok = parts[1]
        .strip_prefix("r-")
        .is_some_and(|s| (4..=32).contains(&s.len()) && lower_alnum(s));
    let mut seen_account = false;
    let rest_ok = parts[2..].iter().all(|seg| {
        if seen_account {
            return false;
        }
        if valid_account_id(seg) {
            seen_account = true;
            return true;
        }
        seg.strip_prefix("ou-")
            .and_then(|s| s.split_once('-'))
            .is_some_and(|(a, b)| {
                (4..=32).contains(&a.len())
                    && lower_alnum(a)
                    && (8..=32).contains(&b.len())
                    && lower_alnum(b)
            })
    });
    org_ok && root_ok && rest_ok
}

fn valid_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// Checks a bcrypt-shaped string (used for basic auth hashes).
pub fn looks_like_bcrypt(h: &str) -> bool {
    (h.starts_with("$2a$") || h.starts_with("$2b$") || h.starts_with("$2y$")) && h.len() == 60
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
listen: 127.0.0.1:9946
aws:
  region: eu-west-1
  endpoint_url: http://127.0.0.1:4566
targets:
  - name: management
    regions: [eu-west-1, us-east-1]
  - name: audit
    role_arn: arn:aws:iam::123456789012:role/PostureExporterReadOnly
    external_id: abc123
    regions: [eu-west-1]
collectors:
  config_recorder:
    interval: 1h30m
"#;

    #[test]
    fn the_shipped_example_is_valid() {
        let c = Config::from_yaml_str(include_str!("../config.example.yaml")).unwrap();
        assert_eq!(c.targets[0].name, "management");
        assert_eq!(c.aws.rate_limits, RateLimits::default());
        assert_eq!(
            c.collectors.config_org_rules.detail_statuses,
            default_detail_statuses()
        );
    }

    #[test]
    fn good_config_loads_with_defaults() {
        let c = Config::from_yaml_str(GOOD).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9946");
        assert_eq!(c.aws.region, "eu-west-1");
        assert_eq!(c.aws.max_attempts, 5);
        assert_eq!(c.targets.len(), 2);
        assert_eq!(
            c.collectors.config_recorder.interval.0,
            Duration::from_secs(5400)
        );
        assert_eq!(
            c.collectors.config_recorder.run_timeout(),
            Duration::from_secs(300)
        );
        assert_eq!(c.max_stale_intervals, 3);
    }

    fn problems(yaml: &str) -> Vec<Problem> {
        Config::from_yaml_str(yaml).unwrap_err().problems
    }

    fn has(ps: &[Problem], path: &str, needle: &str) -> bool {
        ps.iter()
            .any(|p| p.path == path && p.message.contains(needle))
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let ps = problems(
            r#"
listen: "not an address"
aws:
  region: mars-1
  bogus: 1
targets:
  - name: a
    regions: [us-east-1, nowhere]
    role_arn: arn:aws:iam::12:role/x
  - name: a
    regions: []
collectors:
  config_recorder:
    interval: 5 minutes
  config_recorderz: {}
"#,
        );
        assert!(has(&ps, "listen", "not an address"), "{ps:#?}");
        assert!(has(&ps, "aws.bogus", "unknown field `bogus`"), "{ps:#?}");
        assert!(
            has(&ps, "targets[0].regions[1]", "not an AWS region"),
            "{ps:#?}"
        );
        assert!(
            has(&ps, "targets[0].role_arn", "not an IAM role ARN"),
            "{ps:#?}"
        );
        assert!(has(&ps, "targets[1].name", "unique"), "{ps:#?}");
        assert!(has(&ps, "targets[1].regions", "empty"), "{ps:#?}");
        assert!(
            has(
                &ps,
                "collectors.config_recorder.interval",
                "invalid duration"
            ),
            "{ps:#?}"
        );
        assert!(
            has(&ps, "collectors.config_recorderz", "unknown collector"),
            "{ps:#?}"
        );
        assert_eq!(ps.len(), 8, "{ps:#?}");
    }

    #[test]
    fn empty_targets_and_unknown_top_level_keys() {
        let ps = problems("targets: []\nlisten_addr: x\n");
        assert!(has(&ps, "targets", "empty"), "{ps:#?}");
        assert!(has(&ps, "listen_addr", "unknown setting"), "{ps:#?}");
        let ps = problems("listen: 0.0.0.0:1\n");
        assert!(has(&ps, "targets", "missing"), "{ps:#?}");
        let ps = problems("");
        assert!(ps[0].message.contains("empty"), "{ps:#?}");
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let ps = problems("targets:\n  - name: a\n    regions: [us-east-1\n");
        assert_eq!(ps.len(), 1);
        assert!(ps[0].line.is_some(), "{ps:#?}");
    }

    #[test]
    fn wrong_types_name_the_field() {
        let ps =
            problems("targets:\n  - name: a\n    regions: us-east-1\nmax_stale_intervals: lots\n");
        assert!(has(&ps, "targets[0].regions", "invalid type"), "{ps:#?}");
        assert!(has(&ps, "max_stale_intervals", "invalid type"), "{ps:#?}");
    }

    #[test]
    fn durations_parse_and_print() {
        for (s, secs) in [
            ("30s", 30),
            ("5m", 300),
            ("6h", 21600),
            ("1h30m", 5400),
            ("1d", 86400),
        ] {
            assert_eq!(
                HumanDuration::parse(s).unwrap().0,
                Duration::from_secs(secs)
            );
            assert_eq!(HumanDuration::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            HumanDuration::parse("250ms").unwrap().0,
            Duration::from_millis(250)
        );
        for bad in ["", "5", "m", "5x", "-5s", "5 m", "99999999999999999999999d"] {
            assert!(HumanDuration::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arn_region_and_account_shapes() {
        assert_eq!(
            role_arn_account("arn:aws:iam::123456789012:role/a/b"),
            Some("123456789012")
        );
        assert_eq!(role_arn_account("arn:aws:iam::123456789012:user/a"), None);
        assert_eq!(role_arn_account("arn:aws:s3:::bucket"), None);
        assert!(valid_region("us-gov-west-1"));
        assert!(valid_region("ap-southeast-2"));
        assert!(!valid_region("us-east"));
        assert!(!valid_region("US-EAST-1"));
        assert!(valid_account_id("012345678901"));
        assert!(!valid_account_id("01234567890a"));
    }
}
