//! The organization deployment collectors end to end against the simulator, once for each kind:
//! `config_org_rules` and `config_org_conformance_packs` are one collector generic over its
//! kind, so one test, run for both, keeps the two from drifting where a copy per kind would
//! not. A [`Kind`] says what differs for a test: the collector, its families and name label,
//! the simulator's accessor and operations. [`both_kinds!`] turns `async fn x(k: &Kind)` into
//! `x::rules` and `x::packs`. What only one kind has (the simulator's own validation, spoken
//! through the SDK's typed calls) stays a test of that kind.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sim::config_org::{self as co, MemberStatus, RuleDef};
use aws_sim::{Sim, World, WorldOptions};
use posture_exporter::collect::{Collected, Collector as _, JobContext};
use posture_exporter::collectors::config_org_conformance_packs::ConfigOrgConformancePacks;
use posture_exporter::collectors::config_org_rules::{
    config::MEMBER_STATUSES, ConfigOrgRules, Settings, State,
};
use posture_exporter::collectors::CollectorKind;
use posture_exporter::config::Config;
use posture_exporter::store::StatusRow;

use crate::common::{only, Env, Scrape};

/// Generates, for each `async fn name(k: &Kind)` listed, a module `name` with the tests
/// `rules` and `packs` (under the attribute given, e.g. `#[tokio::test]`).
macro_rules! both_kinds {
    ($( #[$attr:meta] fn $name:ident; )*) => {$(
        mod $name {
            #[$attr]
            async fn rules() {
                super::$name(&$crate::org_deployments::RULES).await
            }
            #[$attr]
            async fn packs() {
                super::$name(&$crate::org_deployments::PACKS).await
            }
        }
    )*};
}

mod budget;
mod regions;
mod scrape;
mod scrape_more;
mod simulator;

/// What differs between organization rules and organization conformance packs, for a test.
pub(crate) struct Kind {
    /// The collector's name (config section, `collector_up` label).
    pub collector: &'static str,
    /// The collector on the status page.
    pub id: CollectorKind,
    /// The prefix of its families.
    pub family: &'static str,
    /// The label naming a deployment.
    pub label: &'static str,
    /// A deployment in the status page's notes, and several.
    pub noun: &'static str,
    pub plural: &'static str,
    /// The deployments of this kind the simulator holds (deleted ones left out).
    pub list: for<'a> fn(&'a World) -> Vec<&'a RuleDef>,
    /// The listing of statuses, of definitions, and the member detail.
    pub statuses_op: &'static str,
    pub definitions_op: &'static str,
    pub detail_op: &'static str,
    /// How many the default organization holds.
    pub default_count: usize,
}

pub(crate) const RULES: Kind = Kind {
    collector: "config_org_rules",
    id: CollectorKind::ConfigOrgRules,
    family: "aws_config_org_rule",
    label: "rule",
    noun: "rule",
    plural: "rules",
    list: co::rules,
    statuses_op: "DescribeOrganizationConfigRuleStatuses",
    definitions_op: "DescribeOrganizationConfigRules",
    detail_op: "GetOrganizationConfigRuleDetailedStatus",
    default_count: 12,
};

pub(crate) const PACKS: Kind = Kind {
    collector: "config_org_conformance_packs",
    id: CollectorKind::ConfigOrgConformancePacks,
    family: "aws_config_org_conformance_pack",
    label: "pack",
    noun: "conformance pack",
    plural: "conformance packs",
    list: co::packs,
    statuses_op: "DescribeOrganizationConformancePackStatuses",
    definitions_op: "DescribeOrganizationConformancePacks",
    detail_op: "GetOrganizationConformancePackDetailedStatus",
    default_count: 4,
};

impl Kind {
    /// The family `<prefix>_<suffix>`.
    pub fn f(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.family)
    }

    pub fn is_rules(&self) -> bool {
        self.id == CollectorKind::ConfigOrgRules
    }

    /// Organization options with `n` deployments of this kind, generated around `statuses`
    /// when given (the kind's defaults otherwise).
    pub fn options(&self, n: usize, statuses: Option<&[&str]>, base: co::Options) -> co::Options {
        let statuses = statuses.map(|s| s.iter().map(|s| s.to_string()).collect());
        if self.is_rules() {
            co::Options {
                rules: n,
                org_statuses: statuses.unwrap_or(base.org_statuses.clone()),
                ..base
            }
        } else {
            co::Options {
                packs: n,
                pack_statuses: statuses.unwrap_or(base.pack_statuses.clone()),
                ..base
            }
        }
    }

    /// Its section of the config.
    pub fn settings(&self, cfg: &Config) -> Arc<Settings> {
        if self.is_rules() {
            cfg.collectors.config_org_rules.clone()
        } else {
            cfg.collectors.config_org_conformance_packs.clone()
        }
    }

    /// One run of the collector.
    pub async fn collect(&self, ctx: &JobContext<Settings>, state: &mut State) -> Collected {
        if self.is_rules() {
            ConfigOrgRules::collect(ctx, state).await.unwrap()
        } else {
            ConfigOrgConformancePacks::collect(ctx, state)
                .await
                .unwrap()
        }
    }

    /// Its row on the status page.
    pub fn row(&self, env: &Env) -> StatusRow {
        env.app
            .store
            .status()
            .into_iter()
            .find(|r| r.key.collector == self.id)
            .unwrap()
    }

    /// Only this collector, called from the target named `target`.
    pub fn only_from(&self, target: &str) -> String {
        let c = self.collector;
        only(&[c], "1h").replace(
            &format!("  {c}:\n    enabled: true\n    interval: 1h\n"),
            &format!("  {c}:\n    enabled: true\n    interval: 1h\n    target: {target}\n"),
        )
    }
}

/// A config with only the management target, so that big organizations cost no targets.
pub(crate) fn mgmt_yaml(sim: &Sim, collectors: &str) -> String {
    format!(
        "listen: 127.0.0.1:0\naws:\n  region: us-east-1\n  endpoint_url: \"{}\"\n  max_attempts: 2\n  attempt_timeout: 5s\n  operation_timeout: 20s\n  rate_limits:\n    config:\n      rate: 0\n      burst: 1\ntargets:\n  - name: management\n    regions: [us-east-1]\ncollectors:\n{collectors}",
        sim.url()
    )
}

/// The simulator with `world` and the exporter with only `k`'s collector on the management
/// target; cycles are driven by the tests, so the first one is a job's first run (a full scan).
async fn env(k: &Kind, world: WorldOptions) -> Env {
    let sim = Sim::start(world).await.unwrap();
    let yaml = mgmt_yaml(&sim, &only(&[k.collector], "1h"));
    let cfg = Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    Env::start_on_demand(sim, cfg).await
}

/// What the simulator holds for every deployment: (org status, counts, failed members,
/// excluded accounts, deployer).
pub(crate) type Truth = BTreeMap<
    String,
    (
        String,
        BTreeMap<String, u64>,
        Vec<MemberStatus>,
        usize,
        String,
    ),
>;

pub(crate) fn truth(k: &Kind, w: &World) -> Truth {
    (k.list)(w)
        .into_iter()
        .map(|r| {
            let members = co::member_statuses(w, r);
            let mut counts = BTreeMap::new();
            for m in &members {
                *counts.entry(m.status.clone()).or_insert(0) += 1;
            }
            let failed = members
                .into_iter()
                .filter(|m| m.status.ends_with("_FAILED"))
                .collect();
            (
                r.name.clone(),
                (
                    co::rule_status(w, r).status,
                    counts,
                    failed,
                    co::excluded_accounts(w, r).len(),
                    co::deployer(w, r),
                ),
            )
        })
        .collect()
}

/// Asserts that the scrape shows exactly what the simulator holds.
pub(crate) fn assert_shows(s: &Scrape, k: &Kind, t: &Truth) {
    let (status_f, accounts_f) = (k.f("status"), k.f("member_accounts"));
    let (member_f, time_f) = (
        k.f("member_status"),
        k.f("member_last_update_timestamp_seconds"),
    );
    let seen = s.matching(&status_f, &[]).len();
    assert_eq!(
        seen,
        t.len(),
        "one series per {}, its current status",
        k.label
    );
    let l = k.label;
    for (name, (status, counts, failed, excluded, dep)) in t {
        let dep = dep.as_str();
        assert_eq!(
            s.get(
                &status_f,
                &[(l, name), ("deployed_by", dep), ("status", status)]
            ),
            Some(1.0),
            "{name} {status}"
        );
        assert_eq!(
            s.matching(&status_f, &[(l, name), ("deployed_by", dep)])
                .iter()
                .map(|(_, v)| v)
                .sum::<f64>(),
            1.0
        );
        for st in MEMBER_STATUSES {
            assert_eq!(
                s.get(
                    &accounts_f,
                    &[(l, name), ("deployed_by", dep), ("status", st)]
                ),
                Some(counts.get(*st).copied().unwrap_or(0) as f64),
                "{name} {st}"
            );
        }
        assert_eq!(
            s.get(
                &k.f("excluded_accounts"),
                &[(l, name), ("deployed_by", dep)]
            ),
            Some(*excluded as f64)
        );
        let listed = s.matching(&member_f, &[(l, name), ("deployed_by", dep)]);
        assert_eq!(listed.len(), failed.len(), "{name}");
        for m in failed {
            let code = m.error_code.as_deref().unwrap_or("");
            assert_eq!(
                s.get(
                    &member_f,
                    &[
                        (l, name),
                        ("deployed_by", dep),
                        ("account_id", &m.account_id),
                        ("status", &m.status),
                        ("error_code", code)
                    ]
                ),
                Some(1.0),
                "{name} {}",
                m.account_id
            );
            let t = s
                .get(
                    &time_f,
                    &[
                        (l, name),
                        ("deployed_by", dep),
                        ("account_id", &m.account_id),
                    ],
                )
                .unwrap();
            assert!((t - m.last_update).abs() < 1e-3, "{t} vs {}", m.last_update);
        }
    }
    assert!(!s.text.contains("error_message"));
}
