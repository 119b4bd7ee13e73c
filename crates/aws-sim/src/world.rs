//! The generated organization the simulator serves.
//!
//! Everything is a pure function of the seed and of indices, so that a given seed always
//! answers the same way and a test can compute what the exporter must show; what tests change
//! (a recorder removed, an account added) is kept as overrides on top.
//!
//! This module holds the organization itself (accounts, OUs, recorders) and its settings; its
//! children hold what it keeps for each service (settings, definitions, overrides). The service
//! modules compute everything else from a [`World`]; neither this module nor its children
//! import them.

pub mod compliance;
pub mod config_org;
pub mod guardduty;
pub mod iam;
pub mod regions;
pub mod securityhub;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::wire::fnv;

pub use crate::draw::EPOCH;

/// The fixed OU tree: (name, index of the parent OU, `None` for the root).
const FIXED_OUS: [(&str, Option<usize>); 5] = [
    ("Security", None),
    ("Workloads", None),
    ("Prod", Some(1)),
    ("Dev", Some(1)),
    ("Sandbox", None),
];
/// The OUs of the fixed tree that hold members.
const FIXED_LEAVES: [usize; 4] = [0, 2, 3, 4];

/// Settings of a generated organization.
#[derive(Clone, Debug)]
pub struct WorldOptions {
    /// Seed of everything generated.
    pub seed: u64,
    /// Member accounts (the management account comes on top).
    pub members: usize,
    /// Regions served.
    pub regions: Vec<String>,
    /// The role that member accounts trust the management account to assume.
    pub role_name: String,
    /// Organization Config rules and aggregators.
    pub config_org: config_org::Options,
    /// Config rule and conformance pack compliance.
    pub compliance: compliance::Options,
    /// GuardDuty.
    pub guardduty: guardduty::Options,
    /// IAM access reports.
    pub iam: iam::Options,
    /// Security Hub (CSPM and the OCSF generation).
    pub securityhub: securityhub::Options,
    /// Organizational units of a generated tree (ten under the root, ten under each of those,
    /// and so on), the members spread over all of them; 0: the small fixed tree of
    /// [`World::ous`].
    pub ous: usize,
}

impl Default for WorldOptions {
    fn default() -> Self {
        WorldOptions {
            seed: 7,
            members: 5,
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            role_name: "PostureExporterReadOnly".into(),
            config_org: Default::default(),
            compliance: Default::default(),
            guardduty: Default::default(),
            iam: Default::default(),
            securityhub: Default::default(),
            ous: 0,
        }
    }
}

/// An account of the organization.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    /// 12-digit id.
    pub id: String,
    /// Account name.
    pub name: String,
    /// Root email.
    pub email: String,
    /// ACTIVE, SUSPENDED or PENDING_CLOSURE.
    pub status: String,
    /// Unix seconds it joined.
    pub joined: f64,
    /// Index in generation order (0: management).
    pub index: usize,
}

/// A configuration recorder and its status.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorder {
    /// Name.
    pub name: String,
    /// Recording or stopped.
    pub recording: bool,
    /// Pending, Success, Failure (or anything a test sets).
    pub last_status: String,
    /// Unix seconds.
    pub last_status_change: f64,
    /// Unix seconds.
    pub last_start: Option<f64>,
    /// Unix seconds.
    pub last_stop: Option<f64>,
    /// Error code of a failure.
    pub last_error_code: Option<String>,
    /// Error message of a failure.
    pub last_error_message: Option<String>,
}

/// The organization.
#[derive(Clone, Debug)]
pub struct World {
    /// Options it was generated with.
    pub opts: WorldOptions,
    /// Organization id.
    pub org_id: String,
    /// Accounts, management first.
    pub accounts: Vec<Account>,
    /// Accounts whose AssumeRole is refused.
    pub assume_role_denied: BTreeSet<String>,
    /// Accounts that joined or left since the world was generated: AWS updates the status of
    /// every organization deployment (its `LastUpdateTime`) when its member set changes.
    pub membership_changes: u64,
    recorder_overrides: HashMap<(String, String), Vec<Recorder>>,
    /// Organization Config rules and aggregators.
    pub config_org: config_org::State,
    /// Config rule and conformance pack compliance overrides.
    pub compliance: compliance::State,
    /// GuardDuty.
    pub guardduty: guardduty::State,
    /// IAM access reports.
    pub iam: iam::State,
    /// Security Hub overrides.
    pub securityhub: securityhub::State,
    /// Overrides of the accounts' regions (Account Management).
    pub regions: regions::State,
    /// Anything further collectors need (keyed by name), for later growth without churn here.
    pub notes: BTreeMap<String, String>,
}

/// The organization root's id: `r-` and four characters derived from the seed.
pub fn root_id(seed: u64) -> String {
    format!("r-{:04x}", fnv(&format!("root{seed}")) & 0xffff)
}

impl World {
    /// Every region of `account` with its opt status, as ListRegions lists them
    /// ([`regions::of_account`]).
    pub fn account_regions(&self, account: &Account) -> Vec<(String, String)> {
        regions::of_account(
            &self.regions,
            &self.opts.regions,
            &account.id,
            account.index,
        )
    }

    /// Generates the organization.
    pub fn new(opts: WorldOptions) -> Self {
        let seed = opts.seed;
        let org_id = format!("o-{:010x}", fnv(&format!("org{seed}")) & 0xff_ffff_ffff);
        let base = 100_000_000_000u64 + (fnv(&format!("acct{seed}")) % 400_000_000_000);
        let accounts = (0..=opts.members)
            .map(|i| Self::make_account(seed, base, i))
            .collect();
        World {
            config_org: config_org::State::new(&opts.config_org),
            compliance: Default::default(),
            guardduty: guardduty::State::new(&opts.guardduty),
            iam: iam::State::new(&opts.iam),
            securityhub: securityhub::State::new(&opts.securityhub),
            regions: Default::default(),
            opts,
            org_id,
            accounts,
            assume_role_denied: BTreeSet::new(),
            membership_changes: 0,
            recorder_overrides: HashMap::new(),
            notes: BTreeMap::new(),
        }
    }

    fn make_account(seed: u64, base: u64, i: usize) -> Account {
        let id = format!("{:012}", base + i as u64 * 7_919);
        let name = if i == 0 {
            "management".to_string()
        } else {
            format!("member-{i:05}")
        };
        Account {
            email: format!("aws+{name}@example.com"),
            status: "ACTIVE".into(),
            joined: EPOCH - 86_400.0 * (400.0 - (i % 365) as f64)
                + (fnv(&format!("{seed}{i}")) % 3600) as f64,
            index: i,
            id,
            name,
        }
    }

    /// The management account.
    pub fn management(&self) -> &Account {
        &self.accounts[0]
    }

    /// Finds an account by id.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// Adds a member account; returns its id.
    pub fn add_account(&mut self) -> String {
        let base: u64 = self.accounts[0].id.parse().unwrap_or(100_000_000_000);
        let i = self.accounts.iter().map(|a| a.index).max().unwrap_or(0) + 1;
        let a = Self::make_account(self.opts.seed, base, i);
        let id = a.id.clone();
        self.accounts.push(a);
        self.membership_changes += 1;
        id
    }

    /// Removes an account from the organization.
    pub fn remove_account(&mut self, id: &str) -> bool {
        let before = self.accounts.len();
        self.accounts.retain(|a| a.id != id || a.index == 0);
        let removed = before != self.accounts.len();
        if removed {
            self.membership_changes += 1;
        }
        removed
    }

    /// The organization's root id.
    pub fn root_id(&self) -> String {
        root_id(self.opts.seed)
    }

    /// The organizational units: (id, name, parent id). A small fixed tree (Security,
    /// Workloads/{Prod, Dev}, Sandbox), or with `ous` set a generated one: OU `i` sits under the
    /// root for `i < 10`, else under OU `i / 10 - 1`.
    pub fn ous(&self) -> Vec<(String, String, String)> {
        (0..self.ou_count()).map(|i| self.ou(i)).collect()
    }

    /// How many OUs there are.
    pub fn ou_count(&self) -> usize {
        if self.opts.ous == 0 {
            FIXED_OUS.len()
        } else {
            self.opts.ous
        }
    }

    fn ou_id(&self, i: usize) -> String {
        let root = self.root_id();
        let name = self.ou_name(i);
        format!(
            "ou-{}-{:08x}",
            &root[2..],
            fnv(&format!("{}{name}", self.opts.seed)) & 0xffff_ffff
        )
    }

    fn ou_name(&self, i: usize) -> String {
        if self.opts.ous == 0 {
            FIXED_OUS[i].0.to_string()
        } else {
            format!("OU{i:04}")
        }
    }

    /// OU `i`: (id, name, parent id).
    pub fn ou(&self, i: usize) -> (String, String, String) {
        let parent = if self.opts.ous == 0 {
            FIXED_OUS[i].1
        } else if i < 10 {
            None
        } else {
            Some(i / 10 - 1)
        };
        (
            self.ou_id(i),
            self.ou_name(i),
            parent.map_or_else(|| self.root_id(), |p| self.ou_id(p)),
        )
    }

    /// The OU an account sits in (`None`: the root).
    pub fn ou_of(&self, account: &Account) -> Option<usize> {
        if account.index == 0 {
            return None;
        }
        Some(if self.opts.ous == 0 {
            FIXED_LEAVES[(account.index - 1) % FIXED_LEAVES.len()]
        } else {
            (account.index - 1) % self.opts.ous
        })
    }

    /// The parent (root or OU id) of an account: the management account sits in the root,
    /// members cycle over the leaf OUs Security, Prod, Dev, Sandbox (or over every OU of a
    /// generated tree).
    pub fn parent_of(&self, account: &Account) -> String {
        match self.ou_of(account) {
            None => self.root_id(),
            Some(i) => self.ou_id(i),
        }
    }

    /// Index of a served region.
    pub fn region_index(&self, region: &str) -> Option<usize> {
        self.opts.regions.iter().position(|r| r == region)
    }

    /// The recorders of (account, region). The generated pattern cycles, so any organization of
    /// a few accounts and two regions shows every case: recording, Config off, stopped, failing,
    /// pending.
    pub fn recorders(&self, account: &str, region: &str) -> Vec<Recorder> {
        if let Some(o) = self
            .recorder_overrides
            .get(&(account.to_string(), region.to_string()))
        {
            return o.clone();
        }
        let (Some(a), Some(r)) = (self.account(account), self.region_index(region)) else {
            return Vec::new();
        };
        let pattern = (a.index * self.opts.regions.len() + r) % 10;
        let h = fnv(&format!("{}{account}{region}", self.opts.seed));
        let start = EPOCH - 86_400.0 * 30.0 + (h % 86_400) as f64;
        let change = EPOCH - (h % 3_600) as f64 - 0.25;
        let ok = Recorder {
            name: "default".into(),
            recording: true,
            last_status: "Success".into(),
            last_status_change: change,
            last_start: Some(start),
            last_stop: None,
            last_error_code: None,
            last_error_message: None,
        };
        match pattern {
            1 => Vec::new(),
            2 => vec![Recorder {
                recording: false,
                last_stop: Some(change),
                ..ok
            }],
            3 => vec![Recorder {
                last_status: "Failure".into(),
                last_error_code: Some("NoSuchBucketException".into()),
                last_error_message: Some("The delivery channel's S3 bucket does not exist.".into()),
                ..ok
            }],
            4 => vec![Recorder {
                last_status: "Pending".into(),
                ..ok
            }],
            _ => vec![ok],
        }
    }

    /// Replaces the recorders of (account, region).
    pub fn set_recorders(&mut self, account: &str, region: &str, recorders: Vec<Recorder>) {
        self.recorder_overrides
            .insert((account.to_string(), region.to_string()), recorders);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_stable_and_varied() {
        let a = World::new(WorldOptions::default());
        let b = World::new(WorldOptions::default());
        assert_eq!(a.accounts, b.accounts);
        assert_eq!(a.accounts.len(), 6);
        let mut kinds = BTreeSet::new();
        for acct in &a.accounts {
            for r in &a.opts.regions {
                let rec = a.recorders(&acct.id, r);
                kinds.insert(match rec.first() {
                    None => "off".to_string(),
                    Some(x) if !x.recording => "stopped".to_string(),
                    Some(x) => x.last_status.clone(),
                });
            }
        }
        for k in ["off", "stopped", "Failure", "Pending", "Success"] {
            assert!(kinds.contains(k), "{k} missing from {kinds:?}");
        }
    }
}
