//! What the world holds of GuardDuty: its settings ([`Options`]), the shape of a detector
//! ([`Detector`]), and the overrides tests put on top of the generated data ([`State`]). What
//! every account holds is computed from the world by
//! [`guardduty_accounts`](crate::guardduty_accounts).

use std::collections::{HashMap, HashSet};

/// Generation settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// The most detector ids ListDetectors puts in one page, whatever `maxResults` asks
    /// (AWS's own ceiling is 50); tests lower it to force pagination.
    pub detector_page: usize,
    /// The most members ListMembers puts in one page (AWS: 50).
    pub member_page: usize,
    /// The most entries ListThreatIntelSets, ListIPSets, ListFilters and ListInvitations put in
    /// one page (AWS: 50).
    pub list_page: usize,
    /// The management account is the GuardDuty administrator in every region, not only in the
    /// first (the administrator-mode demo and budget).
    pub admin_all_regions: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            detector_page: 50,
            member_page: 50,
            list_page: 50,
            admin_all_regions: false,
        }
    }
}

/// A detector as the simulator holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Detector {
    /// 32 lowercase hex digits, like AWS's.
    pub id: String,
    /// `ENABLED`, `DISABLED` or anything a test sets.
    pub status: String,
}

/// Overrides that tests put on top of the generated data.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub(crate) detectors: HashMap<(String, String), Vec<Detector>>,
    pub(crate) vanish_after_list: HashSet<(String, String)>,
    pub(crate) ghosts: HashSet<String>,
    pub(crate) findings: HashMap<(String, String), Vec<(f64, i64)>>,
    pub(crate) relationships: HashMap<(String, String), String>,
    pub(crate) finding_ages: HashMap<(String, String), f64>,
    /// The wall-clock time the world was made, in seconds since the epoch: findings were
    /// created an age before it, so their creation times hold still from one call to the next.
    pub(crate) clock: f64,
}

impl State {
    /// Nothing overridden yet.
    pub fn new(_opts: &Options) -> Self {
        State {
            clock: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            ..State::default()
        }
    }

    /// Replaces the detectors of (account, region); an empty list turns GuardDuty off there.
    pub fn set_detectors(&mut self, account: &str, region: &str, detectors: Vec<Detector>) {
        self.detectors
            .insert((account.to_string(), region.to_string()), detectors);
    }

    /// Deletes every detector of (account, region) right after the next ListDetectors there
    /// has answered, as if someone disabled GuardDuty in the middle of a collection.
    pub fn vanish_after_list(&mut self, account: &str, region: &str) {
        self.vanish_after_list
            .insert((account.to_string(), region.to_string()));
    }

    /// Makes every call naming `detector_id` (other than ListDetectors, which keeps listing
    /// it) answer BadRequestException: a detector that exists but is refused.
    pub fn ghost_detector(&mut self, detector_id: &str) {
        self.ghosts.insert(detector_id.to_string());
    }

    /// Replaces the current findings of (account, region) by (severity, count) pairs; any
    /// severity goes, including values outside 1-10 and NaN.
    pub fn set_findings(&mut self, account: &str, region: &str, findings: Vec<(f64, i64)>) {
        self.findings
            .insert((account.to_string(), region.to_string()), findings);
    }

    /// Makes every current finding of (account, region) `seconds` old (creation times are
    /// otherwise drawn per severity value; see
    /// [`finding_created`](crate::guardduty_accounts::finding_created)).
    pub fn set_finding_age(&mut self, account: &str, region: &str, seconds: f64) {
        self.finding_ages
            .insert((account.to_string(), region.to_string()), seconds);
    }

    /// Sets the relationship status of a member account with its administrator in `region`
    /// (any spelling, to stand for a status AWS adds later).
    pub fn set_relationship(&mut self, member: &str, region: &str, status: &str) {
        self.relationships
            .insert((member.to_string(), region.to_string()), status.to_string());
    }
}
