//! `targets:` the accounts to read (one account, through ambient credentials or a role, or
//! every account of the organization through discovery), and `shard:` this replica's share.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;

use super::duration::{d, HumanDuration};
use super::problem::Problems;
use super::shapes::{
    role_arn_account, valid_account_id, valid_external_id, valid_ou_or_root, valid_region,
    valid_session_name,
};

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
    /// Regions read in this account (for `discover`, in every discovered account): a list, or
    /// `enabled` for every region enabled in each account (Account Management's ListRegions).
    pub regions: Regions,
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

/// The regions a target reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    /// These regions, in every account of the target.
    Listed(Vec<String>),
    /// Every region enabled in each account (`ENABLED_BY_DEFAULT` or opted in and `ENABLED`),
    /// as Account Management's ListRegions answers it, read again on each refresh: a region
    /// an account opts into later is read without a change here.
    Enabled,
}

impl Regions {
    /// The listed regions (none for `enabled`, whose regions come from AWS).
    pub fn listed(&self) -> &[String] {
        match self {
            Regions::Listed(r) => r,
            Regions::Enabled => &[],
        }
    }

    /// True for `enabled`.
    pub fn from_aws(&self) -> bool {
        matches!(self, Regions::Enabled)
    }
}

impl<'de> Deserialize<'de> for Regions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Regions;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a list of regions, or `enabled` for every region enabled in the account",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Regions, E> {
                if v == "enabled" {
                    Ok(Regions::Enabled)
                } else {
                    Err(E::invalid_type(serde::de::Unexpected::Str(v), &self))
                }
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Regions, A::Error> {
                let mut out = Vec::new();
                while let Some(r) = a.next_element::<String>()? {
                    out.push(r);
                }
                Ok(Regions::Listed(out))
            }
        }
        d.deserialize_any(V)
    }
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

impl TargetConfig {
    /// Adds every problem of the target at `at` (`targets[i]`).
    pub fn validate(&self, at: &str, p: &mut Problems) {
        let t = self;
        if matches!(&t.regions, Regions::Listed(r) if r.is_empty()) {
            p.at(
                format!("{at}.regions"),
                "the list is empty: at least one region is required",
            );
        }
        let mut seen = BTreeSet::new();
        for (j, r) in t.regions.listed().iter().enumerate() {
            if !valid_region(r) {
                p.at(
                    format!("{at}.regions[{j}]"),
                    format!("`{r}` is not an AWS region name like eu-west-1"),
                );
            } else if !seen.insert(r) {
                p.at(
                    format!("{at}.regions[{j}]"),
                    format!("`{r}` is listed twice"),
                );
            }
        }
        if let Some(arn) = &t.role_arn {
            if role_arn_account(arn).is_none() {
                p.at(
                    format!("{at}.role_arn"),
                    format!(
                        "`{arn}` is not an IAM role ARN like arn:aws:iam::123456789012:role/Name"
                    ),
                );
            }
        }
        let assumes = t.role_arn.is_some() || t.discover.is_some();
        if !assumes
            && (t.external_id.is_some() || t.session_name.is_some() || t.session_duration.is_some())
        {
            p.at(
                at,
                "external_id, session_name and session_duration only apply with role_arn or discover",
            );
        }
        if let Some(dur) = t.session_duration {
            if dur.0 < Duration::from_secs(900) || dur.0 > Duration::from_secs(43_200) {
                p.at(
                    format!("{at}.session_duration"),
                    "must be between 15m and 12h",
                );
            }
        }
        match (&t.discover, &t.role_name) {
            (Some(_), None) => p.at(
                format!("{at}.role_name"),
                "required with discover: the role to assume in each discovered account",
            ),
            (None, Some(_)) => p.at(
                format!("{at}.role_name"),
                "only applies with discover (use role_arn for a single account)",
            ),
            (Some(_), Some(r)) => {
                if r.is_empty() || r.len() > 64 || r.contains(':') || r.contains('/') {
                    p.at(
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
            p.at(at, "include_*/exclude_* only apply with discover");
        }
        for (field, list) in [
            ("include_accounts", &t.include_accounts),
            ("exclude_accounts", &t.exclude_accounts),
        ] {
            for (j, a) in list.iter().enumerate() {
                if !valid_account_id(a) {
                    p.at(
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
                    p.at(
                        format!("{at}.{field}[{j}]"),
                        format!("`{o}` is not an OU id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)"),
                    );
                }
            }
        }
        if t.refresh_interval.0 < Duration::from_secs(10) {
            p.at(format!("{at}.refresh_interval"), "must be at least 10s");
        }
        if let Some(x) = &t.external_id {
            if !valid_external_id(x) {
                p.at(
                    format!("{at}.external_id"),
                    "must be 2 to 1224 characters of letters, digits and _+=,.@:/- (STS refuses any other)",
                );
            }
        }
        if let Some(s) = &t.session_name {
            if !valid_session_name(s) {
                p.at(
                    format!("{at}.session_name"),
                    format!("`{s}` must be 2 to 64 characters of letters, digits and +=,.@_-"),
                );
            }
        }
    }
}
