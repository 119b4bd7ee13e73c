//! The YAML configuration: the top level, and the gathering of every section's problems.
//!
//! Loading goes in three steps so that one run lists every problem, each with its path in the
//! file: the text is parsed to a YAML tree (a syntax error stops there, with its line); each
//! section, each target and each collector's section is then deserialized on its own, so one bad
//! field does not hide the next; last, every section that did parse is checked for what types
//! cannot say (addresses, regions, ARNs, account ids, cross references). A section with a type
//! error is reported once and left out of the semantic checks, which still run on every other
//! section. Every struct denies unknown fields. Nothing here reads the environment: defaults are
//! plain functions, and tests load configs from strings.
//!
//! The files: [`duration`] (`30s`, `1h30m`), [`problem`] (problems, per-section
//! deserialization), [`shapes`] (AWS identifiers), [`yaml`] (the alias budget), [`web`], [`aws`]
//! and [`targets`] (the top-level sections), [`section`] (what a collector's section is made of
//! and offers), `split` (how a section's keys reach its parts), [`families`] (the deny list of
//! families). Collector sections are defined beside their collectors and gathered by
//! [`crate::collectors::Sections`].

pub mod aws;
pub mod duration;
pub mod exceptions;
pub mod families;
pub mod problem;
pub mod section;
pub mod shapes;
mod split;
pub mod targets;
pub mod web;
pub mod yaml;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;

use serde_yaml::Value;

pub use self::aws::{AwsConfig, RateLimit, RateLimits};
pub use duration::HumanDuration;
pub use exceptions::{ExceptionConfig, Signal};
pub use problem::{ConfigError, Problem, Problems, ValidateContext};
pub use shapes::{
    looks_like_bcrypt, role_arn_account, valid_account_id, valid_entity_path, valid_ou_or_root,
    valid_region,
};
pub use targets::{Discover, Regions, Shard, TargetConfig};
pub use web::{TlsConfig, WebConfig};

use crate::collectors::Sections;
use problem::{kind, section};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq)]
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
    /// Every collector's section.
    pub collectors: Sections,
    /// This replica's share of the accounts (`i/n`); everything when absent.
    pub shard: Shard,
    /// Families not exported at all, by the names `/metrics` shows (`exclude_families`): dropped
    /// from every run's results before they are stored.
    pub exclude_families: Vec<String>,
    /// Accepted gaps (`exceptions`): exported, skipped by the alert rules, reviewed by date.
    pub exceptions: Vec<ExceptionConfig>,
}

fn single(path: &str, line: Option<usize>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        problems: vec![Problem {
            path: path.to_string(),
            line,
            message: message.into(),
        }],
    }
}

/// Which sections parsed, so that semantic checks run on those and only those.
#[derive(Default)]
struct Parsed {
    web: bool,
    aws: bool,
    saw_targets: bool,
    /// Names of targets whose entry failed to parse but named itself.
    unparsed_target_names: Vec<String>,
    unparsed_targets: usize,
    /// The position in the file of each parsed target (entries that failed are skipped, so
    /// `targets[i]` paths would shift without it).
    target_index: Vec<usize>,
    /// Collector sections that failed to parse.
    unparsed_collectors: Vec<crate::collectors::CollectorKind>,
    /// The position in the file of each parsed exception (as `target_index`).
    exception_index: Vec<usize>,
}

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read(path)
            .map_err(|e| single("", None, format!("cannot read {}: {e}", path.display())))?;
        let text = String::from_utf8(text).map_err(|e| {
            single(
                "",
                None,
                format!(
                    "{} is not UTF-8 text (invalid byte at offset {})",
                    path.display(),
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        Config::from_yaml_str(&text)
    }

    /// Parses and validates YAML text.
    pub fn from_yaml_str(text: &str) -> Result<Config, ConfigError> {
        if let Err(e) = yaml::node_budget(text, yaml::MAX_NODES) {
            return Err(single("", e.location().map(|l| l.line()), e.to_string()));
        }
        let root: Value = serde_yaml::from_str(text)
            .map_err(|e| single("", e.location().map(|l| l.line()), e.to_string()))?;
        let map = match root {
            Value::Mapping(m) => m,
            Value::Null => {
                return Err(single(
                    "",
                    None,
                    "the file is empty; at least `targets` is required",
                ))
            }
            other => {
                return Err(single(
                    "",
                    None,
                    format!("expected a mapping of settings, found {}", kind(&other)),
                ))
            }
        };

        let mut problems = Problems::default();
        let mut parsed = Parsed {
            web: true,
            aws: true,
            ..Parsed::default()
        };
        let mut cfg = Config {
            listen: "0.0.0.0:9946".into(),
            max_stale_intervals: 3,
            web: WebConfig::default(),
            aws: AwsConfig::default(),
            targets: Vec::new(),
            collectors: Sections::default(),
            shard: Shard::default(),
            exclude_families: Vec::new(),
            exceptions: Vec::new(),
        };
        for (k, v) in map {
            let Some(key) = k.as_str().map(str::to_string) else {
                problems.at("", format!("keys must be strings, found {}", kind(&k)));
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
                "web" => match section::<WebConfig>(v, "web", &mut problems) {
                    Some(x) => cfg.web = x,
                    None => parsed.web = false,
                },
                "aws" => match section::<AwsConfig>(v, "aws", &mut problems) {
                    Some(x) => cfg.aws = x,
                    None => parsed.aws = false,
                },
                "targets" => {
                    parsed.saw_targets = true;
                    match v {
                        Value::Sequence(seq) => {
                            for (i, t) in seq.into_iter().enumerate() {
                                let name = t.get("name").and_then(Value::as_str).map(str::to_string);
                                match section::<TargetConfig>(
                                    t,
                                    &format!("targets[{i}]"),
                                    &mut problems,
                                ) {
                                    Some(x) => {
                                        cfg.targets.push(x);
                                        parsed.target_index.push(i);
                                    }
                                    None => {
                                        parsed.unparsed_targets += 1;
                                        parsed.unparsed_target_names.extend(name);
                                    }
                                }
                            }
                        }
                        Value::Null => {}
                        other => problems.at(
                            "targets",
                            format!("expected a list of targets, found {}", kind(&other)),
                        ),
                    }
                }
                "collectors" => {
                    let (sections, failed) = Sections::parse(v, &mut problems);
                    cfg.collectors = sections;
                    parsed.unparsed_collectors = failed;
                }
                "exclude_families" => {
                    if let Some(x) = section::<Option<Vec<String>>>(v, "exclude_families", &mut problems) {
                        cfg.exclude_families = x.unwrap_or_default();
                    }
                }
                "exceptions" => {
                    let (index, list) = exceptions::parse(v, &mut problems).into_iter().unzip();
                    parsed.exception_index = index;
                    cfg.exceptions = list;
                }
                "shard" => {
                    if let Some(x) = section::<String>(v, "shard", &mut problems) {
                        match Shard::parse(&x) {
                            Ok(sh) => cfg.shard = sh,
                            Err(m) => problems.at("shard", m),
                        }
                    }
                }
                other => problems.at(
                    other,
                    format!(
                        "unknown setting `{other}`, expected one of `listen`, `max_stale_intervals`, `web`, `aws`, `targets`, `collectors`, `exclude_families`, `exceptions`, `shard`"
                    ),
                ),
            }
        }
        if !parsed.saw_targets {
            problems.at("targets", "missing: at least one target is required");
        }
        cfg.validate_into(&mut problems, &parsed);
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigError {
                problems: problems.0,
            })
        }
    }

    /// Checks what the types cannot; every problem is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Problems::default();
        let parsed = Parsed {
            web: true,
            aws: true,
            saw_targets: true,
            ..Parsed::default()
        };
        self.validate_into(&mut problems, &parsed);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: problems.0,
            })
        }
    }

    fn validate_into(&self, p: &mut Problems, parsed: &Parsed) {
        if self.listen.parse::<SocketAddr>().is_err() {
            p.at(
                "listen",
                format!(
                    "`{}` is not an address with a port, like 0.0.0.0:9946 or [::1]:9946",
                    self.listen
                ),
            );
        }
        if self.max_stale_intervals == 0 {
            p.at("max_stale_intervals", "must be at least 1");
        }
        if parsed.web {
            self.web.validate(p);
        }
        if parsed.aws {
            self.aws.validate(p);
        }
        if parsed.saw_targets && self.targets.is_empty() && parsed.unparsed_targets == 0 {
            p.at(
                "targets",
                "the list is empty: at least one target is required",
            );
        }
        let mut names = BTreeSet::new();
        for (n, t) in self.targets.iter().enumerate() {
            let i = parsed.target_index.get(n).copied().unwrap_or(n);
            let at = format!("targets[{i}]");
            if t.name.trim().is_empty() {
                p.at(format!("{at}.name"), "must not be empty");
            } else if !names.insert(t.name.clone()) {
                p.at(
                    format!("{at}.name"),
                    format!(
                        "`{}` is used by an earlier target; names must be unique",
                        t.name
                    ),
                );
            }
            t.validate(&at, p);
        }
        names.extend(parsed.unparsed_target_names.iter().cloned());
        let mut enabled: BTreeSet<String> = self
            .targets
            .iter()
            .filter(|t| t.regions.from_aws())
            .map(|t| t.name.clone())
            .collect();
        enabled.extend(parsed.unparsed_target_names.iter().cloned());
        let first = self.default_org_target().map(|t| t.name.as_str());
        let ctx = ValidateContext {
            target_names: &names,
            enabled_targets: &enabled,
            first_target: first,
        };
        self.collectors
            .validate(&ctx, &parsed.unparsed_collectors, p);
        families::validate(&self.exclude_families, p);
        // An unparsed target may be the discovery one: no second, false problem for OUs then.
        let has_discovery =
            self.targets.iter().any(|t| t.discover.is_some()) || parsed.unparsed_targets > 0;
        exceptions::validate(&self.exceptions, &parsed.exception_index, has_discovery, p);
    }

    /// The target used by organization-wide collectors when none is named: the first one.
    pub fn default_org_target(&self) -> Option<&TargetConfig> {
        self.targets.first()
    }
}
