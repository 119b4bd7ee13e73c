//! GuardDuty's slower lists in the restJson1 protocol: ListThreatIntelSets / GetThreatIntelSet,
//! ListIPSets / GetIPSet, ListFilters / GetFilter, GetInvitationsCount and ListInvitations, at
//! their real paths, with the model's member names and BadRequestException for what the caller
//! does not own.
//!
//! Like the rest of GuardDuty here, what a detector holds is a pure function of the seed and the
//! account's and region's indexes ([`threat_intel_sets`], [`ip_sets`], [`filters`],
//! [`invitations`], [`publishing_frequency`]), cycling so that the small demo organization shows
//! every set status of both kinds, suppression rules that can and cannot archive high-severity
//! findings (and a saved filter that archives nothing), every publishing frequency, and pending
//! invitations: from the administrator to each member whose relationship is Invited (at the time
//! ListMembers gives), and from an account outside the organization.

use serde_json::{json, Value};

use crate::call::{Answer, Call};
use crate::draw::{hash, EPOCH};
use crate::guardduty_accounts::{
    bad_request, detectors_of, find_account, is_administrator, owned_detector, page_args,
    relationship,
};
use crate::wire::{iso8601, json_ok, next_token};
use crate::world::{Account, World};

/// The statuses of threat-intel and IP sets, in AWS's order.
pub const SET_STATUSES: [&str; 7] = [
    "INACTIVE",
    "ACTIVATING",
    "ACTIVE",
    "DEACTIVATING",
    "ERROR",
    "DELETE_PENDING",
    "DELETED",
];

/// The finding publishing frequencies AWS documents.
pub const FREQUENCIES: [&str; 3] = ["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"];

/// The account outside the organization that invites some accounts.
pub const OUTSIDE_INVITER: &str = "210987654321";

/// A threat-intel set or a trusted IP set.
#[derive(Clone, Debug, PartialEq)]
pub struct ListSet {
    /// 32 hex digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// One of [`SET_STATUSES`].
    pub status: &'static str,
    /// TXT, STIX, ...
    pub format: &'static str,
}

/// A filter: a suppression rule (`ARCHIVE`) or a saved filter (`NOOP`).
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    /// Its name.
    pub name: &'static str,
    /// `ARCHIVE` or `NOOP`.
    pub action: &'static str,
    /// Its `findingCriteria.criterion`, as the wire carries it.
    pub criterion: Value,
    /// Whether it can archive a finding of severity 7 or higher (what the exporter must say).
    pub can_hide_high: bool,
}

/// A pending invitation.
#[derive(Clone, Debug, PartialEq)]
pub struct Invitation {
    /// The inviting account.
    pub account_id: String,
    /// Its id.
    pub invitation_id: String,
    /// When it was sent, seconds since the epoch.
    pub invited_at: f64,
}

fn indexes(w: &World, account: &str, region: &str) -> Option<(usize, usize)> {
    let a = find_account(w, account)?;
    let r = w.region_index(region)?;
    Some((a.index, r))
}

fn set_id(w: &World, account: &str, region: &str, tag: &str) -> String {
    let key = format!("{}|{account}|{region}|{tag}", w.opts.seed);
    format!("{:016x}{:016x}", hash(&key), hash(&format!("{key}|2")))
}

/// The threat-intel sets of `account`'s detector in `region` (none where it has no detector).
/// The management account's first set, in the first region, is in ERROR.
pub fn threat_intel_sets(w: &World, account: &str, region: &str) -> Vec<ListSet> {
    let Some((i, r)) = indexes(w, account, region) else {
        return Vec::new();
    };
    if !has_detector(w, account, region) {
        return Vec::new();
    }
    (0..1 + (i + r) % 3)
        .map(|k| ListSet {
            id: set_id(w, account, region, &format!("tis{k}")),
            name: format!("threat-feed-{k}"),
            status: SET_STATUSES[(4 + i + 2 * r + 3 * k) % 7],
            format: ["TXT", "STIX", "OTX_CSV"][k % 3],
        })
        .collect()
}

/// The trusted IP sets of `account`'s detector in `region`.
pub fn ip_sets(w: &World, account: &str, region: &str) -> Vec<ListSet> {
    let Some((i, r)) = indexes(w, account, region) else {
        return Vec::new();
    };
    if !has_detector(w, account, region) {
        return Vec::new();
    }
    (0..1 + (i + r + 1) % 2)
        .map(|k| ListSet {
            id: set_id(w, account, region, &format!("ips{k}")),
            name: format!("trusted-office-{k}"),
            status: SET_STATUSES[(2 + i + 3 * r + 2 * k) % 7],
            format: "TXT",
        })
        .collect()
}

fn has_detector(w: &World, account: &str, region: &str) -> bool {
    match (find_account(w, account), w.region_index(region)) {
        (Some(a), Some(r)) => !detectors_of(w, a, region, r).is_empty(),
        _ => false,
    }
}

/// The filters of `account`'s detector in `region`, in rank order.
pub fn filters(w: &World, account: &str, region: &str) -> Vec<Filter> {
    let Some((i, r)) = indexes(w, account, region) else {
        return Vec::new();
    };
    if !has_detector(w, account, region) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if (i + r) % 3 != 1 {
        out.push(Filter {
            name: "suppress-known-scanner",
            action: "ARCHIVE",
            criterion: json!({
                "type": {"equals": ["Recon:EC2/PortProbeUnprotectedPort"]},
                "resource.instanceDetails.tags.value": {"equals": ["vulnerability-scanner"]},
            }),
            can_hide_high: true,
        });
    }
    if i % 2 == 0 {
        out.push(Filter {
            name: "archive-low-severity",
            action: "ARCHIVE",
            criterion: json!({"severity": {"lessThan": 4}}),
            can_hide_high: false,
        });
    }
    if i % 4 == 3 || (i == 0 && r == 1) {
        // The deprecated integer spelling, still accepted and still sent back as given.
        out.push(Filter {
            name: "archive-below-critical",
            action: "ARCHIVE",
            criterion: json!({"severity": {"gte": 4, "lt": 9}}),
            can_hide_high: true,
        });
    }
    if i % 3 == 0 {
        out.push(Filter {
            name: "saved-high-findings",
            action: "NOOP",
            criterion: json!({"severity": {"greaterThanOrEqual": 7}}),
            can_hide_high: true,
        });
    }
    out
}

/// The publishing frequency of `account`'s detectors in `region`.
pub fn publishing_frequency(w: &World, account: &str, region: &str) -> &'static str {
    match indexes(w, account, region) {
        Some((i, r)) => FREQUENCIES[(i + r) % 3],
        None => "SIX_HOURS",
    }
}

/// When the administrator invited `member` in `region` (ListMembers' `invitedAt`).
pub fn invited_at(w: &World, member: &str, region: &str) -> f64 {
    let h = hash(&format!("{}|{member}|{region}", w.opts.seed));
    EPOCH - 86_400.0 * 100.0 - (h % 86_400) as f64
}

/// The invitations `account` received in `region` and has not accepted: its administrator's,
/// while its relationship is Invited, and one from [`OUTSIDE_INVITER`] for some accounts.
pub fn invitations(w: &World, account: &str, region: &str) -> Vec<Invitation> {
    let Some(a) = find_account(w, account) else {
        return Vec::new();
    };
    let Some(r) = w.region_index(region) else {
        return Vec::new();
    };
    let mgmt = w.management().id.clone();
    let mut out = Vec::new();
    if a.index != 0 && is_administrator(w, &mgmt, region) && relationship(w, a, region) == "Invited"
    {
        out.push(Invitation {
            account_id: mgmt.clone(),
            invitation_id: invitation_id(w, &mgmt, account, region),
            invited_at: invited_at(w, account, region),
        });
    }
    if outside_invited(a, r) {
        out.push(Invitation {
            account_id: OUTSIDE_INVITER.into(),
            invitation_id: invitation_id(w, OUTSIDE_INVITER, account, region),
            invited_at: EPOCH
                - 86_400.0 * 3.0
                - (hash(&format!("{}|{account}|out", w.opts.seed)) % 3_600) as f64,
        });
    }
    out
}

fn outside_invited(a: &Account, r: usize) -> bool {
    a.index != 0 && (a.index + r) % 5 == 4
}

fn invitation_id(w: &World, from: &str, to: &str, region: &str) -> String {
    let h = hash(&format!("{}|{from}|{to}|{region}|inv", w.opts.seed));
    format!("{h:016x}{:016x}", hash(&format!("{h}")))
}

/// Handles one call of this module's operations.
pub fn handle(world: &mut World, call: &Call) -> Answer {
    match call.op.as_str() {
        "ListThreatIntelSets" => list_sets(world, call, true),
        "GetThreatIntelSet" => get_set(world, call, true),
        "ListIPSets" => list_sets(world, call, false),
        "GetIPSet" => get_set(world, call, false),
        "ListFilters" => list_filters(world, call),
        "GetFilter" => get_filter(world, call),
        "GetInvitationsCount" => Ok(json_ok(
            call.protocol,
            &json!({"invitationsCount": invitations(world, &call.account, &call.region).len()}),
        )),
        "ListInvitations" => list_invitations(world, call),
        _ => Err(bad_request(format!("no operation {}", call.op))),
    }
}

/// The last path segment: the set id or filter name.
fn last_segment(call: &Call) -> &str {
    call.path.trim_matches('/').rsplit('/').next().unwrap_or("")
}

/// One page of `all` as `{member: [...], nextToken}`.
fn page(world: &World, call: &Call, op: &str, member: &str, all: Vec<Value>) -> Answer {
    let scope = format!("{op}|{}|{}|{}", call.account, call.region, call.path);
    let (limit, offset) = page_args(call, &scope, 50)?;
    let limit = limit.min(world.opts.guardduty.list_page.max(1));
    let items: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
    let mut out = json!({ member: items });
    if offset + limit < all.len() {
        out["nextToken"] = json!(next_token(&scope, offset + limit));
    }
    Ok(json_ok(call.protocol, &out))
}

/// Whose sets an account sees: the model's ListIPSets and ListThreatIntelSets say "If you use
/// this operation from a member account, the IPSets returned are the IPSets from the associated
/// administrator account" (and the same of threat-intel sets). A member is associated while its
/// relationship is Enabled.
pub fn set_owner(world: &World, account: &str, region: &str) -> String {
    let admin = &world.management().id;
    let associated = account != admin
        && is_administrator(world, admin, region)
        && find_account(world, account)
            .is_some_and(|a| relationship(world, a, region) == "Enabled");
    if associated {
        admin.clone()
    } else {
        account.to_string()
    }
}

fn sets_of(world: &World, call: &Call, threat: bool) -> Vec<ListSet> {
    let owner = set_owner(world, &call.account, &call.region);
    if threat {
        threat_intel_sets(world, &owner, &call.region)
    } else {
        ip_sets(world, &owner, &call.region)
    }
}

fn list_sets(world: &mut World, call: &Call, threat: bool) -> Answer {
    owned_detector(world, call)?;
    let ids: Vec<Value> = sets_of(world, call, threat)
        .into_iter()
        .map(|s| json!(s.id))
        .collect();
    let (op, member) = if threat {
        ("ListThreatIntelSets", "threatIntelSetIds")
    } else {
        ("ListIPSets", "ipSetIds")
    };
    page(world, call, op, member, ids)
}

fn get_set(world: &mut World, call: &Call, threat: bool) -> Answer {
    owned_detector(world, call)?;
    let id = last_segment(call);
    let Some(s) = sets_of(world, call, threat)
        .into_iter()
        .find(|s| s.id == id)
    else {
        let what = if threat {
            "threatIntelSetId"
        } else {
            "ipSetId"
        };
        return Err(bad_request(format!(
            "The request is rejected because the input {what} is not owned by the current account."
        )));
    };
    let owner = set_owner(world, &call.account, &call.region);
    let bucket = format!("posture-lists-{owner}");
    Ok(json_ok(
        call.protocol,
        &json!({
            "name": s.name,
            "format": s.format,
            "location": format!("https://s3.amazonaws.com/{bucket}/{}.txt", s.name),
            "status": s.status,
            "tags": {"team": "security"},
            "expectedBucketOwner": owner,
        }),
    ))
}

fn list_filters(world: &mut World, call: &Call) -> Answer {
    owned_detector(world, call)?;
    let names: Vec<Value> = filters(world, &call.account, &call.region)
        .into_iter()
        .map(|f| json!(f.name))
        .collect();
    page(world, call, "ListFilters", "filterNames", names)
}

fn get_filter(world: &mut World, call: &Call) -> Answer {
    let d = owned_detector(world, call)?;
    let name = last_segment(call);
    let all = filters(world, &call.account, &call.region);
    let Some((rank, f)) = all.iter().enumerate().find(|(_, f)| f.name == name) else {
        return Err(bad_request(
            "The request is rejected because the input filterName does not exist.",
        ));
    };
    let created = EPOCH - 86_400.0 * 30.0 - (hash(&format!("{}|{name}", d.id)) % 86_400) as f64;
    Ok(json_ok(
        call.protocol,
        &json!({
            "name": f.name,
            "description": format!("{} ({})", f.name.replace('-', " "), f.action),
            "action": f.action,
            "rank": rank + 1,
            "findingCriteria": {"criterion": f.criterion},
            "tags": {"team": "security"},
            "createdAt": created,
            "updatedAt": created + 3_600.0,
            "version": 1,
        }),
    ))
}

fn list_invitations(world: &mut World, call: &Call) -> Answer {
    let all: Vec<Value> = invitations(world, &call.account, &call.region)
        .into_iter()
        .map(|i| {
            json!({
                "accountId": i.account_id,
                "invitationId": i.invitation_id,
                "relationshipStatus": "Invited",
                "invitedAt": iso8601(i.invited_at),
            })
        })
        .collect();
    page(world, call, "ListInvitations", "invitations", all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldOptions;
    use std::collections::BTreeSet;

    #[test]
    fn the_demo_organization_shows_every_list_case() {
        let w = World::new(WorldOptions::default());
        let (mut threat, mut ip, mut freq) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        let (mut hide, mut keep, mut noop, mut none, mut invited) = (0, 0, 0, 0, 0);
        let mut outside = 0;
        for a in &w.accounts {
            for r in &w.opts.regions {
                threat.extend(threat_intel_sets(&w, &a.id, r).iter().map(|s| s.status));
                ip.extend(ip_sets(&w, &a.id, r).iter().map(|s| s.status));
                freq.insert(publishing_frequency(&w, &a.id, r));
                let f = filters(&w, &a.id, r);
                if has_detector(&w, &a.id, r) && !f.iter().any(|f| f.action == "ARCHIVE") {
                    none += 1;
                }
                for f in f {
                    match (f.action, f.can_hide_high) {
                        ("ARCHIVE", true) => hide += 1,
                        ("ARCHIVE", false) => keep += 1,
                        _ => noop += 1,
                    }
                }
                for i in invitations(&w, &a.id, r) {
                    if i.account_id == OUTSIDE_INVITER {
                        outside += 1;
                    } else {
                        invited += 1;
                    }
                }
            }
        }
        assert_eq!(threat.len(), 7, "{threat:?}");
        assert_eq!(ip.len(), 7, "{ip:?}");
        assert_eq!(freq.len(), 3);
        assert!(hide >= 1 && keep >= 1 && noop >= 1 && none >= 1);
        assert!(invited >= 1 && outside >= 1, "{invited} {outside}");
        let mgmt = w.management().id.clone();
        assert_eq!(threat_intel_sets(&w, &mgmt, "us-east-1")[0].status, "ERROR");
        for r in &w.opts.regions {
            assert!(filters(&w, &mgmt, r)
                .iter()
                .any(|f| f.action == "ARCHIVE" && f.can_hide_high));
        }
    }
}
