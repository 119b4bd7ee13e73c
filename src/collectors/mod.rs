//! The list of collectors, one line each, and what is generated from it: the
//! [`CollectorKind`] names, the gathered YAML [`Sections`], and the dispatch the scheduler uses.
//!
//! A collector is one folder: `config.rs` (its section), `api.rs` (the only file that sees SDK
//! types: it paginates and maps answers into plain structs), `convert.rs` (pure: plain structs
//! to metric families, tested on literal structs with golden text) and `mod.rs` (its
//! [`Collector`] impl: scope, settings and state types, one run). Adding one means adding its
//! folder and its line below; nothing else in the crate names a particular collector.

pub mod config_aggregators;
pub mod config_compliance;
pub mod config_org_conformance_packs;
pub mod config_org_rules;
pub mod config_recorder;
pub mod guardduty;
pub mod iam_access_report;
pub mod org_deployments;
pub mod security_hub;

pub mod families;

use std::sync::Arc;

use serde_yaml::Value;

use crate::aws::RegionClients;
use crate::collect::{Collector, Job, JobContext, Placement, Schedule, Scope, Section, TypedJob};
use crate::config::problem::{kind, section, Problems, ValidateContext};

macro_rules! collectors {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        /// Every collector the exporter has, in the order they are listed (and shown).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum CollectorKind {
            $(
                #[doc = concat!("`", stringify!($module), "`")]
                $ty,
            )*
        }

        impl CollectorKind {
            /// All collectors.
            pub const ALL: &'static [CollectorKind] = &[$(CollectorKind::$ty),*];

            /// The name used in config, labels and logs.
            pub fn name(self) -> &'static str {
                match self {
                    $(CollectorKind::$ty => <$module::$ty as Collector>::NAME,)*
                }
            }

            /// Whether it says if its service is on in a region ([`Collector::WATCHES_REGIONS`]).
            pub fn watches_regions(self) -> bool {
                match self {
                    $(CollectorKind::$ty => <$module::$ty as Collector>::WATCHES_REGIONS,)*
                }
            }

            /// Where the collector runs with the sections `s`.
            pub fn scope(self, s: &Sections) -> Scope {
                match self {
                    $(CollectorKind::$ty => <$module::$ty as Collector>::scope(&s.$module),)*
                }
            }

            /// Whether it runs, its interval and its per-run timeout.
            pub fn schedule(self, s: &Sections) -> Schedule {
                match self {
                    $(CollectorKind::$ty => s.$module.schedule(),)*
                }
            }

            /// Where an organization collector is placed.
            pub fn placement(self, s: &Sections) -> Placement {
                match self {
                    $(CollectorKind::$ty => s.$module.placement(),)*
                }
            }

            /// True when its section is the same in `a` and `b` (a job restarts when not).
            pub fn same_section(self, a: &Sections, b: &Sections) -> bool {
                match self {
                    $(CollectorKind::$ty => a.$module == b.$module,)*
                }
            }

            /// A new job of this collector, with its own settings and state types.
            pub fn job(self, aws: Arc<RegionClients>, s: &Sections) -> Box<dyn Job> {
                match self {
                    $(CollectorKind::$ty => Box::new(TypedJob::<$module::$ty>::new(JobContext {
                        aws,
                        settings: s.$module.clone(),
                    })),)*
                }
            }
        }

        /// Every collector's section under `collectors:`, each beside its collector.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Sections {
            $(
                #[doc = concat!("`collectors.", stringify!($module), "`")]
                pub $module: Arc<<$module::$ty as Collector>::Settings>,
            )*
        }

        impl Sections {
            /// Deserializes every section on its own, recording each one's problems; a section
            /// that does not parse keeps its defaults and is left out of [`Sections::validate`].
            pub fn parse(v: Value, problems: &mut Problems) -> (Sections, Vec<CollectorKind>) {
                let mut out = Sections::default();
                let mut failed = Vec::new();
                let map = match v {
                    Value::Mapping(m) => m,
                    Value::Null => return (out, failed),
                    other => {
                        problems.at(
                            "collectors",
                            format!("expected a mapping of collectors, found {}", kind(&other)),
                        );
                        return (out, failed);
                    }
                };
                for (k, v) in map {
                    let key = k.as_str().unwrap_or("").to_string();
                    let path = format!("collectors.{key}");
                    $(
                        if key == <$module::$ty as Collector>::NAME {
                            match section(v, &path, problems) {
                                Some(x) => out.$module = Arc::new(x),
                                None => failed.push(CollectorKind::$ty),
                            }
                            continue;
                        }
                    )*
                    problems.at(
                        path,
                        format!(
                            "unknown collector `{key}`, expected one of {}",
                            CollectorKind::ALL
                                .iter()
                                .map(|c| format!("`{}`", c.name()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
                (out, failed)
            }

            /// Adds every problem of every section but those in `skip` (they did not parse).
            pub fn validate(
                &self,
                ctx: &ValidateContext<'_>,
                skip: &[CollectorKind],
                p: &mut Problems,
            ) {
                $(
                    if !skip.contains(&CollectorKind::$ty) {
                        self.$module.check(
                            concat!("collectors.", stringify!($module)),
                            ctx,
                            p,
                        );
                    }
                )*
            }
        }
    };
}

impl CollectorKind {
    /// The families this collector exports, as `/metrics` names them (see [`families`]).
    pub fn families(self) -> &'static [&'static str] {
        families::FAMILIES
            .iter()
            .find(|(name, _)| *name == self.name())
            .map_or(&[], |(_, f)| f)
    }

    /// The collector that exports family `name` (as `/metrics` names it), if one does.
    pub fn exporting(name: &str) -> Option<CollectorKind> {
        CollectorKind::ALL
            .iter()
            .copied()
            .find(|k| k.families().contains(&name))
    }
}

collectors! {
    config_recorder::ConfigRecorder,
    config_org_rules::ConfigOrgRules,
    config_org_conformance_packs::ConfigOrgConformancePacks,
    config_aggregators::ConfigAggregators,
    config_compliance::ConfigCompliance,
    guardduty::GuardDuty,
    iam_access_report::IamAccessReport,
    security_hub::SecurityHub,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_collector_lists_its_families() {
        for k in CollectorKind::ALL {
            assert!(!k.families().is_empty(), "{} lists no family", k.name());
        }
        assert_eq!(families::FAMILIES.len(), CollectorKind::ALL.len());
        assert_eq!(
            CollectorKind::exporting("aws_guardduty_findings"),
            Some(CollectorKind::GuardDuty)
        );
    }

    #[test]
    fn each_collector_is_named_as_its_folder_and_section() {
        let names: Vec<&str> = CollectorKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            [
                "config_recorder",
                "config_org_rules",
                "config_org_conformance_packs",
                "config_aggregators",
                "config_compliance",
                "guardduty",
                "iam_access_report",
                "security_hub"
            ]
        );
        let mut p = Problems::default();
        let (s, failed) = Sections::parse(
            serde_yaml::from_str("guardduty: {interval: 1m}\nconfig_recorder: {interval: x}\n")
                .unwrap(),
            &mut p,
        );
        assert_eq!(s.guardduty.common.interval.0.as_secs(), 60);
        assert_eq!(failed, vec![CollectorKind::ConfigRecorder]);
        assert_eq!(p.0.len(), 1, "{:?}", p.0);
        assert_eq!(p.0[0].path, "collectors.config_recorder.interval");
    }

    /// A cycle's jobs are all in flight at once while their calls queue for a slot, so the
    /// future of a job's run is paid once per job (80,000 at 10,000 accounts x 4 regions x 2
    /// collectors). A call or a listing written inline in a collector made it 4 to 6 KB; each
    /// is boxed where it is sent (`aws::call`, `aws::pages`), and this keeps it so.
    #[tokio::test]
    async fn a_job_run_future_holds_no_call_inline() {
        let cfg = crate::config::Config::from_yaml_str(
            "aws: {region: us-east-1}\ntargets: [{name: a, regions: [us-east-1]}]\n",
        )
        .unwrap();
        let counter = std::sync::Arc::new(crate::aws::CallCounter::default());
        let factory = crate::aws::AwsFactory::new(&cfg.aws, counter, None).await;
        let mut sizes = Vec::new();
        for k in CollectorKind::ALL {
            let aws = factory.ambient().region("us-east-1", "111111111111");
            let mut job = k.job(std::sync::Arc::new(aws), &cfg.collectors);
            let run = job.run();
            sizes.push((k.name(), std::mem::size_of_val(&*run)));
        }
        // Measured when the calls were boxed: 328 to 1,848 bytes (before: 976 to 5,728).
        let large: Vec<_> = sizes.iter().filter(|(_, n)| *n > 2048).collect();
        assert!(
            large.is_empty(),
            "run futures over 2 KiB: {large:?} (all: {sizes:?})"
        );
        let recorder = sizes.iter().find(|(k, _)| *k == "config_recorder").unwrap();
        assert!(recorder.1 <= 512, "{recorder:?}");
    }
}
