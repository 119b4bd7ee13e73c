//! What a collector's section under `collectors:` is made of, and what it offers the rest of the
//! configuration: when it runs ([`Schedule`]), where ([`Placement`]), and its own validation.
//!
//! Every section is a [`Parts`]: the settings every collector has ([`Common`]: `enabled`,
//! `interval`, `timeout`), the keys that place an organization job ([`Place`]: `target`,
//! `targets`, `regions`, and the singular `region`), each accepted only by the sections that
//! name it in [`Own::PLACEMENT`], and the collector's own settings (its [`Own`] type, defined
//! beside its code). The shared parts are parsed and checked here, once for every section; a
//! collector writes only what is particular to it. The file stays flat (`interval:` beside
//! `detail_statuses:`) and strict: [`split`](super::split) hands each key to its part as it
//! reads them, so that an unknown key is refused with every key the section accepts, and every
//! problem keeps its full path.

use std::fmt::Debug;
use std::ops::Deref;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::duration::{d, HumanDuration};
use super::problem::{Problems, ValidateContext};
use super::shapes::valid_region;
use super::targets::Regions;

/// Whether a collector runs, how often, and how long a run may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Run it at all.
    pub enabled: bool,
    /// Time between two runs of one job.
    pub interval: Duration,
    /// Longest a run may take.
    pub timeout: Duration,
}

/// Where an organization collector is placed; `None` takes the default (the first target, the
/// home region).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// The target to call from.
    pub target: Option<String>,
    /// Several targets to call from, one job on each (replaces `target` when not empty): for
    /// what AWS shows only to the account that made it, such as organization rules deployed
    /// from the management account and from a delegated administrator.
    pub targets: Vec<String>,
    /// The regions to read, one job in each: listed, or `enabled` (every region enabled in the
    /// account of each placement target, as its ListRegions answers).
    pub regions: Option<Regions>,
}

impl Placement {
    /// True when the regions come from AWS (`regions: enabled`).
    pub fn regions_from_aws(&self) -> bool {
        matches!(self.regions, Some(Regions::Enabled))
    }

    /// The listed regions; none when absent or `enabled`.
    pub fn listed_regions(&self) -> &[String] {
        self.regions
            .as_ref()
            .map(Regions::listed)
            .unwrap_or_default()
    }

    /// The regions a job of this placement reads from a target that reads `target_regions`
    /// (for `enabled`, the regions ListRegions answered for its account), `default` when the
    /// section names none.
    pub fn regions_for(&self, target_regions: &[String], default: &str) -> Vec<String> {
        match &self.regions {
            Some(Regions::Listed(r)) => r.clone(),
            Some(Regions::Enabled) => target_regions.to_vec(),
            None => vec![default.to_string()],
        }
    }

    /// The names of the targets the jobs run from: `targets`, else `target`, else `default`.
    pub fn target_names(&self, default: Option<&str>) -> Vec<String> {
        if self.targets.is_empty() {
            self.target
                .clone()
                .or_else(|| default.map(str::to_string))
                .into_iter()
                .collect()
        } else {
            self.targets.clone()
        }
    }
}

/// The settings every section has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Common {
    /// `enabled`: run this collector (default true).
    pub enabled: bool,
    /// `interval`: time between two runs of one job (each collector has its own default).
    pub interval: HumanDuration,
    /// `timeout`: longest a run may take; defaults to the interval, at most 5m.
    pub timeout: Option<HumanDuration>,
}

impl Common {
    /// The defaults, with an interval of `secs` seconds.
    pub fn with_interval(secs: u64) -> Self {
        Common {
            enabled: true,
            interval: d(secs),
            timeout: None,
        }
    }

    /// When it runs: the timeout defaults to the interval, at most 5m.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            enabled: self.enabled,
            interval: self.interval.0,
            timeout: self
                .timeout
                .map(|t| t.0)
                .unwrap_or_else(|| self.interval.0.min(Duration::from_secs(300))),
        }
    }

    fn check(&self, path: &str, p: &mut Problems) {
        if self.interval.0 < Duration::from_secs(1) {
            p.at(format!("{path}.interval"), "must be at least 1s");
        }
        if let Some(t) = self.timeout {
            if t.0.is_zero() {
                p.at(format!("{path}.timeout"), "must be more than 0s");
            }
        }
    }
}

/// A key that places an organization job; a section accepts those in its [`Own::PLACEMENT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// `target`: the target to call from; defaults to the first target.
    Target,
    /// `targets`: several targets, one job on each, instead of `target`.
    Targets,
    /// `regions`: the regions to read, one job in each, or `enabled`; defaults to `aws.region`.
    Regions,
    /// `region`: one region. The aggregator of `config_compliance` lives in one region; for
    /// organization rules and packs it is the old spelling of `regions`, still accepted.
    Region,
}

impl Key {
    /// Every placement key.
    pub const ALL: [Key; 4] = [Key::Target, Key::Targets, Key::Regions, Key::Region];

    /// The key as the file spells it.
    pub fn name(self) -> &'static str {
        match self {
            Key::Target => "target",
            Key::Targets => "targets",
            Key::Regions => "regions",
            Key::Region => "region",
        }
    }
}

/// The placement keys as written (each `None` or empty when absent), so that a problem names the
/// key the file used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Place {
    /// `target`.
    pub target: Option<String>,
    /// `targets`.
    pub targets: Vec<String>,
    /// `regions`.
    pub regions: Option<Regions>,
    /// `region`.
    pub region: Option<String>,
}

impl Place {
    /// The keys that are set.
    fn given(&self) -> impl Iterator<Item = Key> + '_ {
        Key::ALL.into_iter().filter(|k| match k {
            Key::Target => self.target.is_some(),
            Key::Targets => !self.targets.is_empty(),
            Key::Regions => self.regions.is_some(),
            Key::Region => self.region.is_some(),
        })
    }

    /// Where the jobs go: `region` reads as a list of one.
    pub fn placement(&self) -> Placement {
        Placement {
            target: self.target.clone(),
            targets: self.targets.clone(),
            regions: self
                .regions
                .clone()
                .or_else(|| self.region.clone().map(|r| Regions::Listed(vec![r]))),
        }
    }

    /// Adds every problem of the placement: names of targets that do not exist, regions that
    /// are not region names, an empty list, and two spellings of one thing.
    fn check(&self, path: &str, ctx: &ValidateContext<'_>, p: &mut Problems) {
        ctx.check_target(&format!("{path}.target"), self.target.as_ref(), p);
        if self.target.is_some() && !self.targets.is_empty() {
            p.at(
                format!("{path}.targets"),
                "give either target or targets, not both",
            );
        }
        for (i, t) in self.targets.iter().enumerate() {
            ctx.check_target(&format!("{path}.targets[{i}]"), Some(t), p);
            if self.targets[..i].contains(t) {
                p.at(
                    format!("{path}.targets[{i}]"),
                    format!("`{t}` is listed twice"),
                );
            }
        }
        if let Some(Regions::Enabled) = &self.regions {
            // ListRegions is read for the accounts of targets that say `regions: enabled`:
            // the jobs of this section read what it answered for their target's account.
            let names = self.placement().target_names(ctx.first_target);
            for (i, t) in names.iter().enumerate() {
                if ctx.target_names.contains(t) && !ctx.enabled_targets.contains(t) {
                    let at = match (&self.target, self.targets.is_empty()) {
                        (_, false) => format!("{path}.targets[{i}]"),
                        (Some(_), true) => format!("{path}.target"),
                        (None, true) => format!("{path}.regions"),
                    };
                    p.at(
                        at,
                        format!(
                            "`regions: enabled` reads the regions enabled in the account of target `{t}`, which are read only for a target that says `regions: enabled`: give `{t}` `regions: enabled`, or list the regions here"
                        ),
                    );
                }
            }
        }
        if let Some(Regions::Listed(rs)) = &self.regions {
            if rs.is_empty() {
                p.at(
                    format!("{path}.regions"),
                    "the list is empty; omit it to use aws.region",
                );
            }
            for (i, r) in rs.iter().enumerate() {
                if !valid_region(r) {
                    p.at(
                        format!("{path}.regions[{i}]"),
                        format!("`{r}` is not an AWS region name"),
                    );
                }
            }
        }
        if let Some(r) = &self.region {
            if !valid_region(r) {
                p.at(
                    format!("{path}.region"),
                    format!("`{r}` is not an AWS region name"),
                );
            }
            if self.regions.is_some() {
                p.at(
                    format!("{path}.region"),
                    "give either regions or region (its old spelling), not both",
                );
            }
        }
    }
}

/// What is particular to a collector's section: its own settings (a struct with
/// `deny_unknown_fields`, named defaults and a doc comment on every field), the placement keys
/// it accepts, and its own checks.
pub trait Own:
    DeserializeOwned + Default + Clone + PartialEq + Debug + Send + Sync + 'static
{
    /// The placement keys the section accepts; any other is an unknown key.
    const PLACEMENT: &'static [Key];

    /// Whether the collector runs when its section does not say `enabled`. False for a
    /// collector that reads from an account the user must name (Security Hub's delegated
    /// administrator): run from the first target by default, it would fail there.
    const ENABLED_BY_DEFAULT: bool = true;

    /// Why the placement keys are not read with these settings, when they are not (e.g. only
    /// an aggregator is read from a target): each one given is then a problem with this text,
    /// besides any problem of its value.
    fn placement_unused(&self) -> Option<&'static str> {
        None
    }

    /// False when the settings leave the collector nothing to do (it then runs no job).
    fn has_work(&self) -> bool {
        true
    }

    /// Adds every problem of the section's own settings, each with its path under `path`.
    fn validate(&self, _path: &str, _ctx: &ValidateContext<'_>, _problems: &mut Problems) {}

    /// Adds the problems of the own settings that depend on the placement (a setting the
    /// placement makes necessary).
    fn validate_placed(&self, _place: &Placement, _path: &str, _problems: &mut Problems) {}
}

/// A section without settings of its own, and read in every account and region.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plain {}

impl Own for Plain {
    const PLACEMENT: &'static [Key] = &[];
}

/// A collector's section: the common settings (`SECS` is the default interval in seconds), its
/// placement and its own settings, which it dereferences to.
#[derive(Clone, Debug, PartialEq)]
pub struct Parts<const SECS: u64, O> {
    /// `enabled`, `interval`, `timeout`.
    pub common: Common,
    /// `target`, `targets`, `regions`, `region`, those of them the section accepts.
    pub place: Place,
    /// The collector's own settings.
    pub own: O,
}

impl<const SECS: u64, O: Own> Default for Parts<SECS, O> {
    fn default() -> Self {
        Parts {
            common: Common {
                enabled: O::ENABLED_BY_DEFAULT,
                ..Common::with_interval(SECS)
            },
            place: Place::default(),
            own: O::default(),
        }
    }
}

impl<const SECS: u64, O> Deref for Parts<SECS, O> {
    type Target = O;
    fn deref(&self) -> &O {
        &self.own
    }
}

/// A collector's section as the configuration and the scheduler see it.
pub trait Section:
    DeserializeOwned + Default + Clone + PartialEq + Debug + Send + Sync + 'static
{
    /// When it runs.
    fn schedule(&self) -> Schedule;

    /// Where an organization collector runs (ignored for per-account collectors).
    fn placement(&self) -> Placement;

    /// Adds every problem of the section, each with its path under `path`
    /// (`collectors.<name>`).
    fn check(&self, path: &str, ctx: &ValidateContext<'_>, problems: &mut Problems);
}

impl<const SECS: u64, O: Own> Section for Parts<SECS, O> {
    fn schedule(&self) -> Schedule {
        let mut s = self.common.schedule();
        s.enabled &= self.own.has_work();
        s
    }

    fn placement(&self) -> Placement {
        self.place.placement()
    }

    fn check(&self, path: &str, ctx: &ValidateContext<'_>, p: &mut Problems) {
        self.common.check(path, p);
        if let Some(why) = self.own.placement_unused() {
            for k in self.place.given() {
                p.at(format!("{path}.{}", k.name()), why);
            }
        }
        self.place.check(path, ctx, p);
        self.own.validate(path, ctx, p);
        self.own.validate_placed(&self.place.placement(), path, p);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::config::problem::section;

    /// A section with every placement key and one setting of its own.
    #[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Mine {
        /// Its own setting.
        #[serde(default)]
        only_with_this: bool,
        /// Another.
        #[serde(default)]
        count: u32,
    }

    impl Own for Mine {
        const PLACEMENT: &'static [Key] = &[Key::Target, Key::Targets, Key::Regions, Key::Region];
        fn placement_unused(&self) -> Option<&'static str> {
            (!self.only_with_this).then_some("only with `only_with_this`")
        }
        fn validate(&self, path: &str, _: &ValidateContext<'_>, p: &mut Problems) {
            if self.count > 3 {
                p.at(format!("{path}.count"), "at most 3");
            }
        }
    }

    type Settings = Parts<600, Mine>;

    fn parse(yaml: &str) -> (Option<Settings>, Problems) {
        let mut p = Problems::default();
        let s = section::<Settings>(serde_yaml::from_str(yaml).unwrap(), "collectors.x", &mut p);
        (s, p)
    }

    fn check(yaml: &str) -> Vec<(String, String)> {
        let (s, mut p) = parse(yaml);
        let names: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        let enabled: BTreeSet<String> = ["b".to_string()].into();
        let ctx = ValidateContext {
            target_names: &names,
            enabled_targets: &enabled,
            first_target: Some("a"),
        };
        s.expect("parses").check("collectors.x", &ctx, &mut p);
        p.0.into_iter().map(|p| (p.path, p.message)).collect()
    }

    #[test]
    fn the_shared_keys_and_the_own_ones_parse_side_by_side() {
        let (s, p) = parse(
            "interval: 1m\nonly_with_this: true\ntimeout: 10s\ntargets: [a, b]\ncount: 2\n\
             regions: [eu-west-1, us-east-1]\nenabled: false\n",
        );
        assert!(p.is_empty(), "{p:?}");
        let s = s.unwrap();
        assert_eq!(
            s.schedule(),
            Schedule {
                enabled: false,
                interval: Duration::from_secs(60),
                timeout: Duration::from_secs(10)
            }
        );
        assert_eq!(s.count, 2);
        assert!(s.only_with_this);
        assert_eq!(
            s.placement(),
            Placement {
                target: None,
                targets: vec!["a".into(), "b".into()],
                regions: Some(Regions::Listed(vec![
                    "eu-west-1".into(),
                    "us-east-1".into()
                ])),
            }
        );
        let (d, _) = parse("{}");
        assert_eq!(d.unwrap(), Settings::default());
        assert_eq!(Settings::default().schedule().interval.as_secs(), 600);
        assert_eq!(Settings::default().schedule().timeout.as_secs(), 300);
    }

    /// `regions: enabled` reads, from each placement target, the regions ListRegions answered
    /// for its account: a target that lists its regions has no such answer, and is refused.
    #[test]
    fn regions_enabled_follows_the_regions_aws_enables_in_each_target_account() {
        let (s, p) = parse("regions: enabled\nonly_with_this: true\ntargets: [b]\n");
        assert!(p.is_empty(), "{p:?}");
        let place = s.unwrap().placement();
        assert!(place.regions_from_aws());
        assert!(place.listed_regions().is_empty());
        let enabled = ["eu-west-1".to_string(), "af-south-1".to_string()];
        assert_eq!(place.regions_for(&enabled, "us-east-1"), enabled);
        assert_eq!(place.target_names(Some("a")), ["b"]);
        assert!(check("regions: enabled\nonly_with_this: true\ntarget: b\n").is_empty());
        let why = "`regions: enabled` reads the regions enabled in the account of target `a`, which are read only for a target that says `regions: enabled`: give `a` `regions: enabled`, or list the regions here";
        // The default target (the first, `a`) lists its regions: the problem is at `regions`.
        assert_eq!(
            check("regions: enabled\nonly_with_this: true\n"),
            [("collectors.x.regions".to_string(), why.to_string())]
        );
        assert_eq!(
            check("regions: enabled\nonly_with_this: true\ntarget: a\n"),
            [("collectors.x.target".to_string(), why.to_string())]
        );
        assert_eq!(
            check("regions: enabled\nonly_with_this: true\ntargets: [b, a]\n"),
            [("collectors.x.targets[1]".to_string(), why.to_string())]
        );
        // Listed, and absent: the list, or the default region.
        let (s, _) = parse("regions: [eu-west-1]\nonly_with_this: true\n");
        let listed = s.unwrap().placement();
        assert_eq!(listed.regions_for(&enabled, "us-east-1"), ["eu-west-1"]);
        let (s, _) = parse("only_with_this: true\n");
        assert_eq!(
            s.unwrap().placement().regions_for(&enabled, "us-east-1"),
            ["us-east-1"]
        );
        let (_, p) = parse("regions: all\nonly_with_this: true\n");
        assert!(
            p.0[0]
                .message
                .contains("or `enabled` for every region enabled"),
            "{p:?}"
        );
    }

    #[test]
    fn region_is_a_list_of_one() {
        let (s, _) = parse("region: eu-west-1\nonly_with_this: true\n");
        assert_eq!(
            s.unwrap().placement().regions,
            Some(Regions::Listed(vec!["eu-west-1".to_string()]))
        );
    }

    #[test]
    fn an_unknown_key_is_refused_with_every_key_the_section_accepts() {
        let (s, p) = parse("intervall: 1m\n");
        assert!(s.is_none());
        assert_eq!(p.0.len(), 1, "{p:?}");
        assert_eq!(p.0[0].path, "collectors.x.intervall");
        assert_eq!(
            p.0[0].message,
            "unknown field `intervall`, expected one of `enabled`, `interval`, `timeout`, \
             `target`, `targets`, `regions`, `region`, `only_with_this`, `count`"
        );
    }

    #[test]
    fn a_placement_key_the_section_does_not_take_is_unknown() {
        let mut p = Problems::default();
        let s = section::<Parts<60, Plain>>(
            serde_yaml::from_str("target: a\n").unwrap(),
            "collectors.y",
            &mut p,
        );
        assert!(s.is_none());
        assert_eq!(p.0[0].path, "collectors.y.target");
        assert_eq!(
            p.0[0].message,
            "unknown field `target`, expected one of `enabled`, `interval`, `timeout`"
        );
    }

    #[test]
    fn a_wrong_type_keeps_its_path_in_either_part() {
        for (yaml, path) in [
            ("interval: soon\n", "collectors.x.interval"),
            ("regions: eu-west-1\n", "collectors.x.regions"),
            ("count: many\n", "collectors.x.count"),
        ] {
            let (s, p) = parse(yaml);
            assert!(s.is_none(), "{yaml}");
            assert_eq!(p.0.len(), 1, "{yaml}: {p:?}");
            assert_eq!(p.0[0].path, path, "{yaml}: {p:?}");
        }
        let (_, p) = parse("7");
        assert_eq!(p.0[0].path, "collectors.x");
        assert!(p.0[0].message.contains("expected a mapping of settings"));
    }

    #[test]
    fn the_shared_checks_run_once_for_every_section() {
        let all = check(
            "interval: 0s\ntimeout: 0s\nonly_with_this: true\ntarget: nope\ntargets: [a, zz, a]\n\
             regions: [moon-1, eu-west-1]\nregion: mars-2\ncount: 9\n",
        );
        let want = [
            ("collectors.x.interval", "must be at least 1s"),
            ("collectors.x.timeout", "must be more than 0s"),
            ("collectors.x.target", "no target is named `nope`"),
            (
                "collectors.x.targets",
                "give either target or targets, not both",
            ),
            ("collectors.x.targets[1]", "no target is named `zz`"),
            ("collectors.x.targets[2]", "`a` is listed twice"),
            (
                "collectors.x.regions[0]",
                "`moon-1` is not an AWS region name",
            ),
            ("collectors.x.region", "`mars-2` is not an AWS region name"),
            (
                "collectors.x.region",
                "give either regions or region (its old spelling), not both",
            ),
            ("collectors.x.count", "at most 3"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(all, want);
        assert_eq!(
            check("regions: []\nonly_with_this: true\n"),
            [(
                "collectors.x.regions".to_string(),
                "the list is empty; omit it to use aws.region".to_string()
            )]
        );
    }

    #[test]
    fn placement_keys_the_settings_leave_unread_are_each_a_problem() {
        assert_eq!(
            check("target: a\nregion: mars-2\n"),
            [
                (
                    "collectors.x.target".to_string(),
                    "only with `only_with_this`".to_string()
                ),
                (
                    "collectors.x.region".to_string(),
                    "only with `only_with_this`".to_string()
                ),
                (
                    "collectors.x.region".to_string(),
                    "`mars-2` is not an AWS region name".to_string()
                ),
            ]
        );
    }
}
