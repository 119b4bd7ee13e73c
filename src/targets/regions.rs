//! The regions of an account as AWS says they are (Account Management's ListRegions, for targets
//! that say `regions: enabled`), and which of them no collector watches.
//!
//! Three families, computed from the targets and the configuration whenever the scheduler
//! reconciles, never per job: the denominator (`aws_account_regions_enabled`, one series an
//! account), the regions an account opted into or is opting into or out of (the default ones,
//! which every account has, are no news), and the enabled regions a collector that says whether
//! its service is on does not read (`aws_account_region_unwatched`: the blind spot). A region that
//! is read and where the service is off is the collectors' own alert (a recorder missing,
//! GuardDuty or Security Hub not enabled); this module says where nobody looks.

use std::sync::Arc;

use crate::aws::{CollectError, RegionClients};
use crate::metrics::{Desc, Family, Kind};

/// A region of an account and its opt status, as Account Management's ListRegions answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionState {
    /// Region code (`af-south-1`).
    pub name: String,
    /// `ENABLED`, `ENABLING`, `DISABLING`, `DISABLED`, `ENABLED_BY_DEFAULT` (the model's enum),
    /// or what AWS adds later, as it spells it.
    pub status: String,
}

impl RegionState {
    /// Whether the region is read: enabled by default or opted in (`ENABLED`). A region still
    /// `ENABLING` is not usable yet; one `DISABLING` is on its way out.
    pub fn readable(&self) -> bool {
        self.status == "ENABLED" || self.status == "ENABLED_BY_DEFAULT"
    }
}

/// The regions read of `states`, in ListRegions' order.
pub fn readable_regions(states: &[RegionState]) -> Vec<String> {
    states
        .iter()
        .filter(|r| r.readable())
        .map(|r| r.name.clone())
        .collect()
}

/// Every region of an account with its opt status (ListRegions, every page of 50, the model's
/// largest: "MaxResults ... max 50"). `account`: a member, asked by the management or a
/// delegated administrator account; `None` for the caller's own (the model: "The management
/// account can't specify its own AccountId. It must call the operation in standalone context
/// by not including the AccountId parameter").
pub async fn list_regions(
    c: &RegionClients,
    account: Option<&str>,
) -> Result<Vec<RegionState>, CollectError> {
    c.account(|a| {
        a.list_regions()
            .set_account_id(account.map(str::to_string))
            .max_results(50)
    })
    .all_pages(|page| {
        Ok(page
            .regions()
            .iter()
            .filter_map(|r| {
                Some(RegionState {
                    name: r.region_name()?.to_string(),
                    status: r.region_opt_status()?.as_str().to_string(),
                })
            })
            .collect())
    })
    .await
}

/// Where a collector reads, for [`coverage_families`].
#[derive(Clone, Copy, Debug)]
pub enum Watch<'a> {
    /// In every region its account's target reads (a per-account collector).
    AccountRegions,
    /// In these regions, for every account (an organization collector placed there).
    Regions(&'a [String]),
}

/// One account whose regions came from ListRegions, for [`coverage_families`].
#[derive(Clone, Copy, Debug)]
pub struct AccountRegions<'a> {
    /// Account id.
    pub account_id: &'a str,
    /// Every region of the account and its opt status.
    pub states: &'a [RegionState],
    /// The regions its target reads (the readable ones, unless a read failed).
    pub read: &'a [String],
}

static ENABLED: Desc = Desc {
    name: "aws_account_regions_enabled",
    help: "Regions enabled in the account (ListRegions: ENABLED or ENABLED_BY_DEFAULT), for targets with `regions: enabled`: the denominator of per-region coverage.",
    kind: Kind::Gauge,
    labels: &["account_id"],
};
static OPT_IN: Desc = Desc {
    name: "aws_account_region_opt_in",
    help: "1 for a region the account opted into or is opting into or out of, labelled with its ListRegions status (ENABLED, ENABLING, DISABLING); regions enabled by default and disabled regions have no series.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "status"],
};
static UNWATCHED: Desc = Desc {
    name: "aws_account_region_unwatched",
    help: "1 for an enabled region of the account that this collector does not read (it is not among the collector's regions): whether its service is on there is unknown. Collectors that say whether a service is on: config_recorder, guardduty, security_hub.",
    kind: Kind::Gauge,
    labels: &["account_id", "region", "collector"],
};

/// The three families of the accounts whose regions came from ListRegions, given where each
/// enabled watching collector reads (by its name).
pub fn coverage_families(
    accounts: &[AccountRegions<'_>],
    watchers: &[(&str, Watch<'_>)],
) -> Vec<Family> {
    let mut enabled = Family::new(&ENABLED);
    let mut opt_in = Family::new(&OPT_IN);
    let mut unwatched = Family::new(&UNWATCHED);
    for a in accounts {
        let readable = a.states.iter().filter(|r| r.readable()).count();
        enabled.push(&[a.account_id], readable as f64);
        for r in a.states {
            if r.status != "ENABLED_BY_DEFAULT" && r.status != "DISABLED" {
                opt_in.push_state(&[a.account_id, &r.name], &r.status);
            }
        }
        for r in a.states.iter().filter(|r| r.readable()) {
            for (collector, watch) in watchers {
                let read = match watch {
                    Watch::AccountRegions => a.read.contains(&r.name),
                    Watch::Regions(list) => list.contains(&r.name),
                };
                if !read {
                    unwatched.push(&[a.account_id, &r.name, collector], 1.0);
                }
            }
        }
    }
    vec![enabled, opt_in, unwatched]
}

/// The blind spots among `families` (the [`coverage_families`] the scheduler published): each
/// enabled region a watching collector does not read, as (account id, region, collector).
pub fn unwatched(families: &[Arc<Vec<Family>>]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for f in families
        .iter()
        .flat_map(|s| s.iter())
        .filter(|f| std::ptr::eq(f.desc(), &UNWATCHED))
    {
        for (labels, _) in f.samples() {
            let mut v = labels.values();
            if let (Some(a), Some(r), Some(c)) = (v.next(), v.next(), v.next()) {
                out.push((a.to_string(), r.to_string(), c.to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(name: &str, status: &str) -> RegionState {
        RegionState {
            name: name.into(),
            status: status.into(),
        }
    }

    #[test]
    fn only_enabled_and_default_regions_are_read() {
        let states = [
            state("us-east-1", "ENABLED_BY_DEFAULT"),
            state("af-south-1", "ENABLED"),
            state("ap-east-1", "ENABLING"),
            state("me-south-1", "DISABLED"),
            state("eu-south-1", "DISABLING"),
        ];
        assert_eq!(readable_regions(&states), ["us-east-1", "af-south-1"]);
    }

    #[test]
    fn an_opt_in_region_outside_an_org_collectors_regions_is_unwatched() {
        let states = [
            state("us-east-1", "ENABLED_BY_DEFAULT"),
            state("eu-west-1", "ENABLED_BY_DEFAULT"),
            state("af-south-1", "ENABLED"),
            state("ap-east-1", "ENABLING"),
            state("me-south-1", "DISABLED"),
        ];
        let read: Vec<String> = readable_regions(&states);
        let sh_regions = vec!["us-east-1".to_string(), "eu-west-1".to_string()];
        let fams = coverage_families(
            &[AccountRegions {
                account_id: "111111111111",
                states: &states,
                read: &read,
            }],
            &[
                ("config_recorder", Watch::AccountRegions),
                ("security_hub", Watch::Regions(&sh_regions)),
            ],
        );
        let text: String = fams.iter().map(Family::text).collect();
        assert!(
            text.contains("aws_account_regions_enabled{account_id=\"111111111111\"} 3"),
            "{text}"
        );
        assert!(text.contains("aws_account_region_opt_in{account_id=\"111111111111\",region=\"af-south-1\",status=\"ENABLED\"} 1"), "{text}");
        assert!(text.contains("aws_account_region_opt_in{account_id=\"111111111111\",region=\"ap-east-1\",status=\"ENABLING\"} 1"), "{text}");
        assert!(
            !text.contains("me-south-1"),
            "a disabled region is no news: {text}"
        );
        assert!(!text.contains("status=\"ENABLED_BY_DEFAULT\""), "{text}");
        // Security Hub reads two regions: the opted-in one is its blind spot; the recorder
        // reads every readable region, so it has none; ENABLING is not read by anyone yet.
        assert_eq!(fams[2].len(), 1, "{text}");
        assert!(text.contains("aws_account_region_unwatched{account_id=\"111111111111\",region=\"af-south-1\",collector=\"security_hub\"} 1"), "{text}");
    }

    #[test]
    fn a_region_whose_read_failed_stays_unwatched_for_per_account_collectors() {
        let states = [
            state("us-east-1", "ENABLED_BY_DEFAULT"),
            state("af-south-1", "ENABLED"),
        ];
        let read = vec!["us-east-1".to_string()];
        let fams = coverage_families(
            &[AccountRegions {
                account_id: "222222222222",
                states: &states,
                read: &read,
            }],
            &[("guardduty", Watch::AccountRegions)],
        );
        let text = fams[2].text();
        assert!(
            text.contains("region=\"af-south-1\",collector=\"guardduty\""),
            "{text}"
        );
        assert_eq!(fams[2].len(), 1);
    }
}
