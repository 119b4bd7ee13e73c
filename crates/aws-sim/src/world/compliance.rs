//! What the world holds of Config rule and conformance pack compliance: the settings it is
//! generated from ([`Options`]), the result of a rule ([`RuleResult`]), and the overrides tests
//! set ([`State`]).

use std::collections::BTreeMap;

/// Generation settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Config rules in every account and region.
    pub rules: usize,
    /// Conformance packs in every account and region.
    pub packs: usize,
    /// Rules in each conformance pack.
    pub pack_rules: usize,
    /// Chance that a (rule, account, region) is NON_COMPLIANT.
    pub noncompliant_ratio: f64,
    /// Chance that it has INSUFFICIENT_DATA.
    pub insufficient_ratio: f64,
    /// Every n-th non-compliant result has more resources than AWS counts (0: none).
    pub capped_every: u64,
    /// The aggregate listings serve an empty page (with a token) before each page.
    pub empty_pages: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rules: 6,
            packs: 3,
            pack_rules: 4,
            noncompliant_ratio: 0.25,
            insufficient_ratio: 0.1,
            capped_every: 4,
            empty_pages: false,
        }
    }
}

/// The compliance of one rule in one account and region.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleResult {
    /// Compliance type (anything a test sets, too).
    pub compliance: String,
    /// Non-compliant resources, uncapped (AWS shows at most [`CAP`](crate::config_compliance::CAP)).
    pub resources: i64,
}

/// Test overrides.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub(crate) rule_overrides: BTreeMap<(String, String, String), RuleResult>,
    pub(crate) pack_overrides: BTreeMap<(String, String, String), String>,
}

impl State {
    /// Sets the result of rule `rule` in (account, region), e.g. a compliance type AWS may add.
    pub fn set_rule(&mut self, account: &str, region: &str, rule: &str, r: RuleResult) {
        self.rule_overrides
            .insert((account.into(), region.into(), rule.into()), r);
    }

    /// Sets the compliance type of pack `pack` in (account, region).
    pub fn set_pack(&mut self, account: &str, region: &str, pack: &str, compliance: &str) {
        self.pack_overrides.insert(
            (account.into(), region.into(), pack.into()),
            compliance.into(),
        );
    }
}
