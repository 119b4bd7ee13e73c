//! Pure conversion of the report state of each entity path into metric families.
//!
//! The values come from the last completed report, which stays while a newer job runs or after
//! one failed; `job_status` tells the state of the current (or last) job. So a `FAILED` job shows
//! `status="FAILED"` 1 next to the values of the last report that did complete, and the
//! completion timestamp tells their age.

use std::collections::BTreeMap;

use super::api::{Report, ServiceAccess};
use super::job::State;
use crate::metrics::{Desc, Family, Kind};

static JOB_STATUS: Desc = Desc {
    name: "aws_iam_org_access_report_job_status",
    help: "Status of the IAM Organizations access report job of the entity path: 1, labelled with the current status (other statuses have no series); the report values are those of the last completed job.",
    kind: Kind::Gauge,
    labels: &["entity_path", "status"],
};
static ACCESSIBLE: Desc = Desc {
    name: "aws_iam_org_access_report_services_accessible",
    help: "Services that the principals under the entity path may use (allowed by the SCPs), per the last completed access report.",
    kind: Kind::Gauge,
    labels: &["entity_path"],
};
static NOT_ACCESSED: Desc = Desc {
    name: "aws_iam_org_access_report_services_not_accessed",
    help: "Services that the principals under the entity path may use but did not use in the tracking period, per the last completed access report: candidates to deny.",
    kind: Kind::Gauge,
    labels: &["entity_path"],
};
static COMPLETION: Desc = Desc {
    name: "aws_iam_org_access_report_completion_timestamp_seconds",
    help: "Unix time the last completed access report of the entity path was completed.",
    kind: Kind::Gauge,
    labels: &["entity_path"],
};
static LAST_AUTH: Desc = Desc {
    name: "aws_iam_org_access_report_service_last_authenticated_timestamp_seconds",
    help: "Unix time a principal under the entity path last authenticated to the service (only services accessed in the tracking period).",
    kind: Kind::Gauge,
    labels: &["entity_path", "service_namespace"],
};
static ENTITIES: Desc = Desc {
    name: "aws_iam_org_access_report_service_authenticated_entities",
    help: "Accounts under the entity path with authenticated principals (root user, IAM users and roles) that attempted to access the service in the tracking period (0: never accessed).",
    kind: Kind::Gauge,
    labels: &["entity_path", "service_namespace"],
};

/// What is exported for one entity path.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The configured entity path.
    pub entity_path: &'a str,
    /// Status of the current or last job (raw); `None`: no job known.
    pub status: Option<&'a str>,
    /// The last completed report.
    pub report: Option<&'a Report>,
}

/// The entries of the configured paths, in configuration order.
pub fn entries<'a>(state: &'a State, paths: &'a [String]) -> Vec<Entry<'a>> {
    paths
        .iter()
        .map(|p| {
            let ps = state.paths.get(p);
            Entry {
                entity_path: p,
                status: ps.and_then(|s| s.status.as_deref()),
                report: ps.and_then(|s| s.report.as_ref()),
            }
        })
        .collect()
}

/// One row per namespace, sorted: should a report list a namespace twice, the most recent
/// access wins, so the exposition never carries a series twice.
fn by_namespace(services: &[ServiceAccess]) -> BTreeMap<&str, &ServiceAccess> {
    let mut m: BTreeMap<&str, &ServiceAccess> = BTreeMap::new();
    for s in services {
        let e = m.entry(&s.namespace).or_insert(s);
        if s.last_authenticated > e.last_authenticated {
            *e = s;
        }
    }
    m
}

/// The families of every entity path.
pub fn families(entries: &[Entry<'_>]) -> Vec<Family> {
    let mut status = Family::new(&JOB_STATUS);
    let mut accessible = Family::new(&ACCESSIBLE);
    let mut not_accessed = Family::new(&NOT_ACCESSED);
    let mut completion = Family::new(&COMPLETION);
    let mut last_auth = Family::new(&LAST_AUTH);
    let mut entities = Family::new(&ENTITIES);
    for e in entries {
        let p = e.entity_path;
        if let Some(s) = e.status {
            status.push_state(&[p], s);
        }
        let Some(r) = e.report else { continue };
        accessible.push(&[p], r.services_accessible as f64);
        not_accessed.push(&[p], r.services_not_accessed as f64);
        if let Some(t) = r.completed {
            completion.push(&[p], t);
        }
        for (ns, s) in by_namespace(&r.services) {
            match s.last_authenticated {
                Some(t) => {
                    last_auth.push(&[p, ns], t);
                    if let Some(n) = s.authenticated_entities {
                        entities.push(&[p, ns], n as f64);
                    }
                }
                None => entities.push(&[p, ns], 0.0),
            }
        }
    }
    vec![
        status,
        accessible,
        not_accessed,
        completion,
        last_auth,
        entities,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(fams: &[Family]) -> String {
        fams.iter().map(|f| f.text()).collect()
    }

    fn svc(ns: &str, last: Option<f64>, n: Option<i64>) -> ServiceAccess {
        ServiceAccess {
            namespace: ns.into(),
            name: format!("Amazon {ns}"),
            last_authenticated: last,
            authenticated_entities: n,
            region: last.map(|_| "eu-west-1".into()),
            entity_path: None,
        }
    }

    #[test]
    fn golden_completed_report_and_a_failed_job_without_one() {
        let report = Report {
            job_id: "b1c2d3e4-0000-4000-8000-000000000001".into(),
            created: Some(1_763_000_000.0),
            completed: Some(1_763_000_030.5),
            services_accessible: 4,
            services_not_accessed: 2,
            services: vec![
                svc("s3", Some(1_762_990_000.0), Some(12)),
                svc("ec2", Some(1_762_000_000.0), Some(3)),
                svc("zocalo", None, None),
                svc("kms", None, None),
            ],
        };
        let entries = [
            Entry {
                entity_path: "o-a1b2c3d4e5/r-f6g7",
                status: Some("COMPLETED"),
                report: Some(&report),
            },
            Entry {
                entity_path: "o-a1b2c3d4e5/r-f6g7/ou-f6g7-h8i9j0k1",
                status: Some("FAILED"),
                report: None,
            },
        ];
        let want = "\
aws_iam_org_access_report_job_status{entity_path=\"o-a1b2c3d4e5/r-f6g7\",status=\"COMPLETED\"} 1
aws_iam_org_access_report_job_status{entity_path=\"o-a1b2c3d4e5/r-f6g7/ou-f6g7-h8i9j0k1\",status=\"FAILED\"} 1
aws_iam_org_access_report_services_accessible{entity_path=\"o-a1b2c3d4e5/r-f6g7\"} 4
aws_iam_org_access_report_services_not_accessed{entity_path=\"o-a1b2c3d4e5/r-f6g7\"} 2
aws_iam_org_access_report_completion_timestamp_seconds{entity_path=\"o-a1b2c3d4e5/r-f6g7\"} 1763000030.5
aws_iam_org_access_report_service_last_authenticated_timestamp_seconds{entity_path=\"o-a1b2c3d4e5/r-f6g7\",service_namespace=\"ec2\"} 1762000000
aws_iam_org_access_report_service_last_authenticated_timestamp_seconds{entity_path=\"o-a1b2c3d4e5/r-f6g7\",service_namespace=\"s3\"} 1762990000
aws_iam_org_access_report_service_authenticated_entities{entity_path=\"o-a1b2c3d4e5/r-f6g7\",service_namespace=\"ec2\"} 3
aws_iam_org_access_report_service_authenticated_entities{entity_path=\"o-a1b2c3d4e5/r-f6g7\",service_namespace=\"kms\"} 0
aws_iam_org_access_report_service_authenticated_entities{entity_path=\"o-a1b2c3d4e5/r-f6g7\",service_namespace=\"s3\"} 12
aws_iam_org_access_report_service_authenticated_entities{entity_path=\"o-a1b2c3d4e5/r-f6g7\",service_namespace=\"zocalo\"} 0
";
        assert_eq!(text(&families(&entries)), want);
    }

    #[test]
    fn golden_new_job_in_progress_keeps_the_old_report_and_unknown_status_is_raw() {
        let report = Report {
            job_id: "j".into(),
            created: None,
            completed: None,
            services_accessible: 1,
            services_not_accessed: 0,
            services: vec![
                svc("iam", Some(100.0), Some(2)),
                // A namespace listed twice: the latest access wins.
                svc("iam", Some(200.0), Some(5)),
                svc("iam", None, None),
                // Accessed, count missing: no entities sample rather than a false 0.
                svc("sts", Some(150.0), None),
            ],
        };
        let entries = [Entry {
            entity_path: "o-a1b2c3d4e5/r-f6g7/123456789012",
            status: Some("QUEUED"),
            report: Some(&report),
        }];
        let want = "\
aws_iam_org_access_report_job_status{entity_path=\"o-a1b2c3d4e5/r-f6g7/123456789012\",status=\"QUEUED\"} 1
aws_iam_org_access_report_services_accessible{entity_path=\"o-a1b2c3d4e5/r-f6g7/123456789012\"} 1
aws_iam_org_access_report_services_not_accessed{entity_path=\"o-a1b2c3d4e5/r-f6g7/123456789012\"} 0
aws_iam_org_access_report_service_last_authenticated_timestamp_seconds{entity_path=\"o-a1b2c3d4e5/r-f6g7/123456789012\",service_namespace=\"iam\"} 200
aws_iam_org_access_report_service_last_authenticated_timestamp_seconds{entity_path=\"o-a1b2c3d4e5/r-f6g7/123456789012\",service_namespace=\"sts\"} 150
aws_iam_org_access_report_service_authenticated_entities{entity_path=\"o-a1b2c3d4e5/r-f6g7/123456789012\",service_namespace=\"iam\"} 5
";
        assert_eq!(text(&families(&entries)), want);
    }

    #[test]
    fn golden_nothing_known_yet_exports_nothing() {
        let entries = [Entry {
            entity_path: "o-a1b2c3d4e5/r-f6g7",
            status: None,
            report: None,
        }];
        assert_eq!(text(&families(&entries)), "");
    }
}
