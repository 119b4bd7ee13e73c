//! What the world holds of organization Config: the settings the organization rules,
//! conformance packs and aggregators are generated from ([`Options`]), the rule and pack
//! definitions generated ([`RuleDef`]), the shapes of their statuses, and the overrides tests set
//! ([`State`]). What the statuses are is computed from the world by
//! [`config_org_status`](crate::config_org_status).

use std::collections::{BTreeMap, BTreeSet};

/// The nine statuses of a member account (and of a rule organization-wide), as AWS spells them.
pub const STATUSES: &[&str] = &[
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

/// The aggregator source statuses.
pub const SOURCE_STATUSES: &[&str] = &["FAILED", "SUCCEEDED", "OUTDATED"];

/// Generation settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Organization Config rules.
    pub rules: usize,
    /// The organization statuses the rules are generated around, cycled over rule indices.
    pub org_statuses: Vec<String>,
    /// Chance that a member of a `*_FAILED` rule failed (one designated member always has).
    pub failure_ratio: f64,
    /// Chance that a member of a `*_IN_PROGRESS` rule is in progress (one designated member
    /// always is).
    pub in_progress_ratio: f64,
    /// Every n-th rule excludes the last generated member account (0: no exclusions).
    pub exclude_every: usize,
    /// Index of the account registered as delegated administrator for AWS Config; the rules are
    /// then deployed from it. `None`: deployed from the management account.
    pub delegated_admin: Option<usize>,
    /// With `delegated_admin` set, how many rules and how many packs (the last ones generated)
    /// were deployed from the management account before the delegated administrator was
    /// registered: each account sees only its own (AWS: "you won't be able to see the
    /// organizational rule or conformance pack in the organization administrator account from
    /// the delegated administrator account" and the other way round).
    pub management_deployed: usize,
    /// Configuration aggregators: the first is an organization aggregator, the others account
    /// aggregators.
    pub aggregators: usize,
    /// Region holding the aggregators (of the management account); the first served region when
    /// `None`.
    pub aggregator_region: Option<String>,
    /// Organization conformance packs, generated like the rules (members, exclusions, derived
    /// status) around their own statuses; deployed from the same account as the rules.
    pub packs: usize,
    /// The organization statuses the packs are generated around, cycled over pack indices.
    pub pack_statuses: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rules: 12,
            org_statuses: [
                "CREATE_FAILED",
                "CREATE_SUCCESSFUL",
                "UPDATE_FAILED",
                "UPDATE_SUCCESSFUL",
                "CREATE_IN_PROGRESS",
                "DELETE_FAILED",
                "UPDATE_IN_PROGRESS",
                "DELETE_IN_PROGRESS",
                "DELETE_SUCCESSFUL",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            failure_ratio: 0.2,
            in_progress_ratio: 0.3,
            exclude_every: 4,
            delegated_admin: None,
            management_deployed: 0,
            aggregators: 2,
            aggregator_region: None,
            packs: 4,
            pack_statuses: [
                "CREATE_FAILED",
                "CREATE_SUCCESSFUL",
                "UPDATE_SUCCESSFUL",
                "UPDATE_FAILED",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }
}

/// What an organization deployment is: a Config rule or a conformance pack. Both deploy to every
/// member the same way, so one generator serves both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An organization Config rule.
    Rule,
    /// An organization conformance pack.
    Pack,
}

/// A rule (or conformance pack) as generated.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleDef {
    /// Generation index (within its kind).
    pub index: usize,
    /// Rule or pack name.
    pub name: String,
    /// Managed rule identifier (of a pack: its template).
    pub identifier: String,
    /// The organization status it was generated around.
    pub target: String,
    /// Rule or pack.
    pub kind: Kind,
}

impl RuleDef {
    /// The index that seeds its members: packs draw from another stream than rules.
    pub(crate) fn seed_index(&self) -> u64 {
        match self.kind {
            Kind::Rule => self.index as u64,
            Kind::Pack => self.index as u64 + (1 << 40),
        }
    }
}

/// The deployment status of a rule in one member account.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberStatus {
    /// The member account.
    pub account_id: String,
    /// One of [`STATUSES`] (or anything a test sets).
    pub status: String,
    /// Error code of a failure.
    pub error_code: Option<String>,
    /// Error message of a failure.
    pub error_message: Option<String>,
    /// Unix seconds of the last status update.
    pub last_update: f64,
}

/// The organization-wide status of a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleStatus {
    /// Rule name.
    pub name: String,
    /// Organization-wide status.
    pub status: String,
    /// Unix seconds of the last status update.
    pub last_update: f64,
}

/// The status of one source of an aggregator.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceStatus {
    /// Account id, or the organization id for an organization source.
    pub source_id: String,
    /// ACCOUNT or ORGANIZATION.
    pub source_type: String,
    /// Region of the source.
    pub region: String,
    /// FAILED, SUCCEEDED or OUTDATED (or anything a test sets).
    pub status: String,
    /// Unix seconds of the last update.
    pub last_update: f64,
    /// Error code of the last failure.
    pub error_code: Option<String>,
    /// Error message of the last failure.
    pub error_message: Option<String>,
}

/// A configuration aggregator.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregator {
    /// Generation index (0: the organization aggregator).
    pub index: usize,
    /// Name.
    pub name: String,
    /// Account holding it.
    pub account_id: String,
    /// Region holding it.
    pub region: String,
}

/// Generated rules and test overrides.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub(crate) rules: Vec<RuleDef>,
    pub(crate) packs: Vec<RuleDef>,
    pub(crate) deleted_rules: BTreeSet<String>,
    pub(crate) ghost_rules: BTreeSet<String>,
    pub(crate) member_overrides: BTreeMap<(String, String), MemberStatus>,
    pub(crate) status_overrides: BTreeMap<String, String>,
    pub(crate) bumps: BTreeMap<String, u32>,
    pub(crate) expire_tokens: u32,
    pub(crate) deleted_aggregators: BTreeSet<String>,
    pub(crate) ghost_aggregators: BTreeSet<String>,
    pub(crate) source_overrides: BTreeMap<(String, String, String), SourceStatus>,
}

const IDENTIFIERS: &[&str] = &[
    "S3_BUCKET_VERSIONING_ENABLED",
    "ENCRYPTED_VOLUMES",
    "IAM_PASSWORD_POLICY",
    "CLOUD_TRAIL_ENABLED",
    "ROOT_ACCOUNT_MFA_ENABLED",
    "RDS_STORAGE_ENCRYPTED",
    "RESTRICTED_INCOMING_TRAFFIC",
    "GUARDDUTY_ENABLED_CENTRALIZED",
    "S3_BUCKET_PUBLIC_READ_PROHIBITED",
    "VPC_FLOW_LOGS_ENABLED",
    "ACCESS_KEYS_ROTATED",
    "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
];

const PACK_TEMPLATES: &[&str] = &[
    "operational-best-practices-for-amazon-s3",
    "operational-best-practices-for-cis-aws-v1-4-level1",
    "operational-best-practices-for-pci-dss",
    "operational-best-practices-for-nist-800-53-rev-5",
    "security-best-practices-for-ec2",
];

impl State {
    /// Generates the rule and pack definitions of an organization with these settings.
    pub fn new(o: &Options) -> Self {
        let statuses: Vec<String> = if o.org_statuses.is_empty() {
            vec!["CREATE_SUCCESSFUL".into()]
        } else {
            o.org_statuses.clone()
        };
        let rules = (0..o.rules)
            .map(|i| {
                let ident = IDENTIFIERS[i % IDENTIFIERS.len()];
                let base = format!("org-{}", ident.to_lowercase().replace('_', "-"));
                let name = if i < IDENTIFIERS.len() {
                    base
                } else {
                    format!("{base}-{}", i / IDENTIFIERS.len() + 1)
                };
                RuleDef {
                    index: i,
                    name,
                    identifier: ident.to_string(),
                    target: statuses[i % statuses.len()].clone(),
                    kind: Kind::Rule,
                }
            })
            .collect();
        let pack_statuses: Vec<String> = if o.pack_statuses.is_empty() {
            vec!["CREATE_SUCCESSFUL".into()]
        } else {
            o.pack_statuses.clone()
        };
        let packs = (0..o.packs)
            .map(|i| {
                let template = PACK_TEMPLATES[i % PACK_TEMPLATES.len()];
                let name = if i < PACK_TEMPLATES.len() {
                    format!("org-{template}")
                } else {
                    format!("org-{template}-{}", i / PACK_TEMPLATES.len() + 1)
                };
                RuleDef {
                    index: i,
                    name,
                    identifier: template.to_string(),
                    target: pack_statuses[i % pack_statuses.len()].clone(),
                    kind: Kind::Pack,
                }
            })
            .collect();
        State {
            rules,
            packs,
            ..State::default()
        }
    }

    /// The generated conformance packs, deleted ones included.
    pub fn pack_defs(&self) -> &[RuleDef] {
        &self.packs
    }

    /// The generated rules, deleted ones included.
    pub fn rule_defs(&self) -> &[RuleDef] {
        &self.rules
    }

    /// Renames a generated rule (before any override names it): for names with the characters
    /// AWS allows (`.*\S.*`, up to 64), quotes and backslashes included.
    pub fn rename_rule(&mut self, from: &str, to: &str) -> bool {
        match self.rules.iter_mut().find(|r| r.name == from) {
            Some(r) => {
                r.name = to.to_string();
                true
            }
            None => false,
        }
    }

    /// Deletes a rule (or a conformance pack, by its name): it vanishes from every answer.
    pub fn delete_rule(&mut self, name: &str) {
        self.deleted_rules.insert(name.to_string());
    }

    /// The rule is still listed, but asking for its member statuses answers
    /// `NoSuchOrganizationConfigRuleException`, as when it is deleted between two calls.
    pub fn delete_rule_after_listing(&mut self, name: &str) {
        self.ghost_rules.insert(name.to_string());
    }

    /// Sets (or with `None`, restores) one member's status of a rule or pack; its status time
    /// moves on.
    pub fn set_member_status(&mut self, rule: &str, account_id: &str, s: Option<MemberStatus>) {
        self.set_member_status_quietly(rule, account_id, s);
        *self.bumps.entry(rule.to_string()).or_insert(0) += 1;
    }

    /// Like [`State::set_member_status`], but the rule's status time stays put: a change that
    /// AWS would not announce, which only the exporter's periodic check can find.
    pub fn set_member_status_quietly(
        &mut self,
        rule: &str,
        account_id: &str,
        s: Option<MemberStatus>,
    ) {
        let key = (rule.to_string(), account_id.to_string());
        match s {
            Some(s) => self.member_overrides.insert(key, s),
            None => self.member_overrides.remove(&key),
        };
    }

    /// Forces the organization status of a rule to a raw value (e.g. one AWS might add later).
    pub fn set_rule_status(&mut self, rule: &str, status: &str) {
        self.status_overrides
            .insert(rule.to_string(), status.to_string());
        *self.bumps.entry(rule.to_string()).or_insert(0) += 1;
    }

    /// The next `n` detail calls that carry a `NextToken` answer `InvalidNextTokenException`
    /// (as when a token expires).
    pub fn expire_next_tokens(&mut self, n: u32) {
        self.expire_tokens = n;
    }

    /// Deletes an aggregator.
    pub fn delete_aggregator(&mut self, name: &str) {
        self.deleted_aggregators.insert(name.to_string());
    }

    /// The aggregator is still listed but its sources answer
    /// `NoSuchConfigurationAggregatorException` (deleted between two calls).
    pub fn delete_aggregator_after_listing(&mut self, name: &str) {
        self.ghost_aggregators.insert(name.to_string());
    }

    /// Replaces the status of one source (keyed by aggregator, source id and region).
    pub fn set_source_status(&mut self, aggregator: &str, s: SourceStatus) {
        self.source_overrides.insert(
            (
                aggregator.to_string(),
                s.source_id.clone(),
                s.region.clone(),
            ),
            s,
        );
    }
}
