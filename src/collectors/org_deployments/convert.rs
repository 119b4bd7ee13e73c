//! The metric families and the overview's items of organization rules and packs, from what a
//! run shows of each deployment ([`View`]): the same code for both kinds, given their
//! descriptors ([`Descs`]).

use std::collections::BTreeMap;

use crate::metrics::{Attention, Concern, Desc, Family};

/// The member-account statuses of an organization rule or conformance pack (and their
/// organization-wide statuses), as the API spells them.
pub const MEMBER_STATUSES: &[&str] = &[
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

/// Which kind of deployment, for log lines and status notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noun {
    /// An organization Config rule.
    Rule,
    /// An organization conformance pack.
    Pack,
}

impl Noun {
    /// The word on the status page (`rule`, `conformance pack`).
    pub fn word(self) -> &'static str {
        match self {
            Noun::Rule => "rule",
            Noun::Pack => "conformance pack",
        }
    }
}

/// The deployment status of a rule or pack in one member account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberStatus {
    /// Member account id.
    pub account_id: String,
    /// Status in AWS's raw spelling.
    pub status: String,
    /// Error code of a failure.
    pub error_code: Option<String>,
    /// Error message of a failure (status page and logs, never a label).
    pub error_message: Option<String>,
    /// Unix seconds of the last status update.
    pub last_update: Option<f64>,
}

/// What the exporter shows of one deployment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// Rule or pack name.
    pub name: String,
    /// Organization-wide status, raw spelling.
    pub status: String,
    /// Unix seconds of the last status update.
    pub last_update: Option<f64>,
    /// Accounts it excludes, when its definition was listed.
    pub excluded_accounts: Option<usize>,
    /// Member accounts per status (raw spellings), when known.
    pub counts: Option<BTreeMap<String, u64>>,
    /// The members in the detail statuses, sorted by account.
    pub members: Vec<MemberStatus>,
}

/// The six descriptors of a kind of deployment in one label shape, in the order of [`families`].
pub struct Shape {
    /// `{name, status}` state set of the organization status.
    pub status: &'static Desc,
    /// `{name}` status time.
    pub last_update: &'static Desc,
    /// `{name}` excluded accounts.
    pub excluded: &'static Desc,
    /// `{name, status}` members per status, the nine zero-filled.
    pub member_accounts: &'static Desc,
    /// `{name, account_id, status, error_code}` = 1 per member in a detail status.
    pub member_status: &'static Desc,
    /// `{name, account_id}` status time of a member in `member_status`.
    pub member_last_update: &'static Desc,
}

/// The descriptors of a kind of deployment: every series is labelled with its name and the
/// account that deployed it, and with its region too when the section reads several regions
/// (one name may be deployed in each). One region, the default, keeps the labels as they were.
pub struct Descs {
    /// Without `region`.
    pub plain: Shape,
    /// With `region` after `deployed_by`.
    pub regional: Shape,
}

/// Declares a kind's [`Descs`]: both label shapes from its name label, its family name prefix and
/// the help of each family.
macro_rules! descs {
    (
        $(#[$doc:meta])*
        $vis:vis static $descs:ident: $label:literal, $prefix:literal {
            status: $status:literal,
            last_update: $last_update:literal,
            excluded: $excluded:literal,
            member_accounts: $member_accounts:literal,
            member_status: $member_status:literal,
            member_last_update: $member_last_update:literal $(,)?
        }
    ) => {
        $(#[$doc])*
        $vis static $descs: $crate::collectors::org_deployments::convert::Descs =
            $crate::collectors::org_deployments::convert::Descs {
                plain: $crate::collectors::org_deployments::convert::descs!(@shape $label, $prefix, [],
                    $status, $last_update, $excluded, $member_accounts, $member_status,
                    $member_last_update),
                regional: $crate::collectors::org_deployments::convert::descs!(@shape $label, $prefix, ["region"],
                    $status, $last_update, $excluded, $member_accounts, $member_status,
                    $member_last_update),
            };
    };
    (@shape $label:literal, $prefix:literal, [$($region:literal)?], $status:literal,
     $last_update:literal, $excluded:literal, $member_accounts:literal, $member_status:literal,
     $member_last_update:literal) => {
        $crate::collectors::org_deployments::convert::Shape {
            status: &$crate::metrics::Desc {
                name: concat!($prefix, "_status"),
                help: $status,
                kind: $crate::metrics::Kind::Gauge,
                labels: &[$label, "deployed_by", $($region,)? "status"],
            },
            last_update: &$crate::metrics::Desc {
                name: concat!($prefix, "_last_update_timestamp_seconds"),
                help: $last_update,
                kind: $crate::metrics::Kind::Gauge,
                labels: &[$label, "deployed_by", $($region)?],
            },
            excluded: &$crate::metrics::Desc {
                name: concat!($prefix, "_excluded_accounts"),
                help: $excluded,
                kind: $crate::metrics::Kind::Gauge,
                labels: &[$label, "deployed_by", $($region)?],
            },
            member_accounts: &$crate::metrics::Desc {
                name: concat!($prefix, "_member_accounts"),
                help: $member_accounts,
                kind: $crate::metrics::Kind::Gauge,
                labels: &[$label, "deployed_by", $($region,)? "status"],
            },
            member_status: &$crate::metrics::Desc {
                name: concat!($prefix, "_member_status"),
                help: $member_status,
                kind: $crate::metrics::Kind::Gauge,
                labels: &[$label, "deployed_by", $($region,)? "account_id", "status", "error_code"],
            },
            member_last_update: &$crate::metrics::Desc {
                name: concat!($prefix, "_member_last_update_timestamp_seconds"),
                help: $member_last_update,
                kind: $crate::metrics::Kind::Gauge,
                labels: &[$label, "deployed_by", $($region,)? "account_id"],
            },
        }
    };
}

pub(crate) use descs;

/// Where a run's deployments come from: the account that deployed them and, when the section
/// reads several regions, the region (the label values every series starts with after its name).
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    /// The account the job calls from.
    pub deployed_by: &'a str,
    /// The region, when it is a label.
    pub region: Option<&'a str>,
}

impl<'a> Origin<'a> {
    /// Labelled with the deploying account only.
    pub fn by(deployed_by: &'a str) -> Self {
        Origin {
            deployed_by,
            region: None,
        }
    }

    /// The descriptors of this label shape.
    fn shape(&self, d: &'static Descs) -> &'static Shape {
        match self.region {
            None => &d.plain,
            Some(_) => &d.regional,
        }
    }

    /// The label values of a series of deployment `name`, followed by `rest`.
    fn values<'b>(&'b self, name: &'b str, rest: &[&'b str]) -> Vec<&'b str> {
        let mut v = Vec::with_capacity(3 + rest.len());
        v.push(name);
        v.push(self.deployed_by);
        v.extend(self.region);
        v.extend_from_slice(rest);
        v
    }
}

/// The families of the deployments, each series labelled with the account that deployed it
/// (AWS shows a deployment only to that account, so the management account and a delegated
/// administrator are read apart and may both deploy one name). Error messages never become
/// labels: they are long, free text, and would make a new series each time AWS rewords them.
pub fn families(d: &'static Descs, o: Origin<'_>, views: &[View]) -> Vec<Family> {
    let mut all = status_families(d, o, views);
    all.push(excluded_family(d, o, views));
    all.extend(member_families(d, o, views));
    all
}

/// What the statuses say: the organization status and its time.
pub fn status_families(d: &'static Descs, o: Origin<'_>, views: &[View]) -> Vec<Family> {
    let d = o.shape(d);
    let mut status = Family::new(d.status);
    let mut last = Family::new(d.last_update);
    for r in views {
        let key = o.values(&r.name, &[]);
        status.push_state(&key, &r.status);
        if let Some(t) = r.last_update {
            last.push(&key, t);
        }
    }
    vec![status, last]
}

/// What the definitions say: the excluded accounts.
pub fn excluded_family(d: &'static Descs, o: Origin<'_>, views: &[View]) -> Family {
    let mut excluded = Family::new(o.shape(d).excluded);
    for r in views {
        if let Some(n) = r.excluded_accounts {
            excluded.push(&o.values(&r.name, &[]), n as f64);
        }
    }
    excluded
}

/// What the member reads say: members per status, and those in the detail statuses.
pub fn member_families(d: &'static Descs, o: Origin<'_>, views: &[View]) -> Vec<Family> {
    let d = o.shape(d);
    let mut accounts = Family::new(d.member_accounts);
    let mut member = Family::new(d.member_status);
    let mut member_last = Family::new(d.member_last_update);
    for r in views {
        let name = r.name.as_str();
        if let Some(counts) = &r.counts {
            for s in MEMBER_STATUSES {
                accounts.push(
                    &o.values(name, &[s]),
                    counts.get(*s).copied().unwrap_or(0) as f64,
                );
            }
            // A status AWS adds later keeps its raw spelling and its count.
            for (s, n) in counts {
                if !MEMBER_STATUSES.contains(&s.as_str()) {
                    accounts.push(&o.values(name, &[s]), *n as f64);
                }
            }
        }
        for m in &r.members {
            member.push(
                &o.values(
                    name,
                    &[
                        &m.account_id,
                        &m.status,
                        m.error_code.as_deref().unwrap_or(""),
                    ],
                ),
                1.0,
            );
            if let Some(t) = m.last_update {
                member_last.push(&o.values(name, &[&m.account_id]), t);
            }
        }
    }
    vec![accounts, member, member_last]
}

/// The failed member deployments of `views` (a status ending in `_FAILED`: `CREATE_FAILED`,
/// `UPDATE_FAILED`, `DELETE_FAILED`), each with AWS's code and message, for the overview: the
/// same members whose `member_status` series is 1 in [`member_families`].
pub fn member_items(noun: Noun, region: &str, views: &[View]) -> Vec<Attention> {
    let word = noun.word();
    views
        .iter()
        .flat_map(|v| {
            v.members
                .iter()
                .filter(|m| m.status.ends_with("_FAILED"))
                .map(move |m| Attention {
                    concern: Concern::FailedDeployment,
                    account_id: m.account_id.clone(),
                    region: region.to_string(),
                    subject: format!("{word} {}: {}", v.name, m.status),
                    code: m.error_code.clone().unwrap_or_default(),
                    message: m.error_message.clone().unwrap_or_default(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::config_org_rules::convert::DESCS;
    use crate::metrics::count_samples;

    fn member(
        account: &str,
        status: &str,
        code: Option<&str>,
        message: Option<&str>,
    ) -> MemberStatus {
        MemberStatus {
            account_id: account.into(),
            status: status.into(),
            error_code: code.map(String::from),
            error_message: message.map(String::from),
            last_update: None,
        }
    }

    /// Every member whose `member_status` series is 1 with a failed status is an item, with
    /// AWS's message, however many there are.
    #[test]
    fn items_count_what_the_families_flag() {
        let members: Vec<MemberStatus> = (0..120)
            .map(|i| {
                let account = format!("{:012}", 1000 + i);
                match i % 3 {
                    0 => member(
                        &account,
                        "CREATE_FAILED",
                        Some("ValidationException"),
                        Some(&format!("no recorder in {account}")),
                    ),
                    1 => member(&account, "UPDATE_FAILED", None, None),
                    _ => member(&account, "CREATE_SUCCESSFUL", None, None),
                }
            })
            .collect();
        let views = [View {
            name: "r: one".into(),
            status: "CREATE_FAILED".into(),
            members,
            ..View::default()
        }];
        let families = member_families(&DESCS, Origin::by("000000000001"), &views);
        let items = member_items(Noun::Rule, "eu-west-1", &views);
        let failed = count_samples(&families, DESCS.plain.member_status.name, |l, v| {
            v == 1.0 && l["status"].ends_with("_FAILED")
        });
        assert_eq!(failed, 80);
        assert_eq!(items.len(), failed);
        let with_message = items.iter().filter(|i| !i.message.is_empty()).count();
        assert_eq!(
            with_message, 40,
            "every CREATE_FAILED member, past the 50th too"
        );
        let last = items
            .iter()
            .rev()
            .find(|i| i.code == "ValidationException")
            .unwrap();
        assert_eq!(
            (
                last.subject.as_str(),
                last.region.as_str(),
                last.message.as_str()
            ),
            (
                "rule r: one: CREATE_FAILED",
                "eu-west-1",
                "no recorder in 000000001117"
            )
        );
    }

    /// One region keeps the labels as they were; several add the region after `deployed_by`,
    /// in every family, so that one name deployed in two regions is two series.
    #[test]
    fn the_region_is_a_label_only_when_several_are_read() {
        let views = [View {
            name: "r".into(),
            status: "CREATE_SUCCESSFUL".into(),
            last_update: Some(1.0),
            excluded_accounts: Some(2),
            counts: Some(BTreeMap::from([("CREATE_FAILED".to_string(), 1)])),
            members: vec![MemberStatus {
                last_update: Some(2.0),
                ..member("000000000002", "CREATE_FAILED", Some("E"), None)
            }],
        }];
        let plain = families(&DESCS, Origin::by("000000000001"), &views);
        let regional = families(
            &DESCS,
            Origin {
                deployed_by: "000000000001",
                region: Some("eu-west-1"),
            },
            &views,
        );
        assert_eq!(plain.len(), 6);
        for (p, r) in plain.iter().zip(&regional) {
            assert_eq!(p.desc().name, r.desc().name);
            assert!(!p.desc().labels.contains(&"region"));
            assert_eq!(r.desc().labels[2], "region", "{}", r.desc().name);
            assert_eq!(p.len(), r.len());
            assert!(!r.is_empty(), "{}", r.desc().name);
            assert_eq!(
                p.text(),
                r.text().replace(",region=\"eu-west-1\"", ""),
                "{}",
                r.desc().name
            );
        }
    }
}
