//! What the world holds of each account's regions, as Account Management's ListRegions answers
//! them: the served regions are enabled by default in every account (`ENABLED_BY_DEFAULT`), and
//! a few opt-in regions, none of which the simulator serves, are enabled in some accounts only.
//! An opt-in region an account enabled is the blind spot the exporter must see: nothing is
//! deployed there (no Config recorder, no GuardDuty detector, Security Hub not enabled), since
//! every service handler answers an unserved region as empty.

use std::collections::BTreeMap;

/// Opt-in regions of the simulated partition (real opt-in regions' codes), none served.
pub const OPT_IN: [&str; 3] = ["af-south-1", "ap-east-1", "me-south-1"];

/// Overrides a test sets: an account's whole answer, by account id.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// (region, opt status) lists replacing the generated ones.
    pub overrides: BTreeMap<String, Vec<(String, String)>>,
}

/// Every region of the account with this id and index, with its opt status, in the order
/// ListRegions lists them: the `served` regions `ENABLED_BY_DEFAULT`, then the opt-in regions.
/// Generated: every fifth member (indexes 3, 8, 13, ...) enabled `af-south-1`; every eleventh
/// (from index 4) is `ENABLING` `ap-east-1`; the management account enabled none. A test's
/// override replaces the whole answer.
pub fn of_account(
    state: &State,
    served: &[String],
    id: &str,
    index: usize,
) -> Vec<(String, String)> {
    if let Some(o) = state.overrides.get(id) {
        return o.clone();
    }
    let mut out: Vec<(String, String)> = served
        .iter()
        .map(|r| (r.clone(), "ENABLED_BY_DEFAULT".to_string()))
        .collect();
    let i = index;
    for region in OPT_IN {
        let status = match region {
            "af-south-1" if i > 0 && i % 5 == 3 => "ENABLED",
            "ap-east-1" if i > 0 && i % 11 == 4 => "ENABLING",
            _ => "DISABLED",
        };
        out.push((region.to_string(), status.to_string()));
    }
    out
}
