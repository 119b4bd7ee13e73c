//! Pure conversion of aggregator source statuses into metric families.
//!
//! Every series carries `region`, the region the aggregator lives in: aggregators are regional,
//! this collector reads several regions, and two aggregators of one name in two regions would
//! otherwise export the same series twice. The error code of a failed source is a label of its
//! own `_info` series, present only while the source is FAILED, so the state set keeps a stable
//! label set; the error message goes to the status page only.

use super::api::Aggregator;
use crate::metrics::{Desc, Family, Kind};

/// The source statuses AWS documents.
pub const STATUSES: &[&str] = &["FAILED", "SUCCEEDED", "OUTDATED"];

static AGGREGATORS: Desc = Desc {
    name: "aws_config_aggregators",
    help: "AWS Config configuration aggregators in this region of the aggregator account.",
    kind: Kind::Gauge,
    labels: &["region"],
};
static SOURCES: Desc = Desc {
    name: "aws_config_aggregator_sources",
    help: "Sources of an aggregator (an account or organization in a source region) by the status of their last update (SUCCEEDED, FAILED, OUTDATED); statuses no source has have no series.",
    kind: Kind::Gauge,
    labels: &["region", "aggregator", "status"],
};
static STATUS: Desc = Desc {
    name: "aws_config_aggregator_source_status",
    help:
        "Status of the last update of an aggregator source that did not succeed (FAILED, OUTDATED, or a status AWS adds later): 1, labelled with it; a SUCCEEDED source has no series (it is counted in aws_config_aggregator_sources).",
    kind: Kind::Gauge,
    labels: &[
        "region",
        "aggregator",
        "source_id",
        "source_type",
        "source_region",
        "status",
    ],
};
static LAST_UPDATE: Desc = Desc {
    name: "aws_config_aggregator_source_last_update_timestamp_seconds",
    help: "Unix time of the last update of an aggregator source that did not succeed (since when its data is old).",
    kind: Kind::Gauge,
    labels: &[
        "region",
        "aggregator",
        "source_id",
        "source_type",
        "source_region",
    ],
};
static LAST_ERROR: Desc = Desc {
    name: "aws_config_aggregator_source_last_error",
    help: "The error code of an aggregator source whose last update FAILED.",
    kind: Kind::Info,
    labels: &[
        "region",
        "aggregator",
        "source_id",
        "source_type",
        "source_region",
        "error_code",
    ],
};

/// The families of the aggregators of one region, all read.
pub fn families(region: &str, aggregators: &[Aggregator]) -> Vec<Family> {
    let mut all = vec![count_family(region, aggregators.len())];
    all.extend(sources_of(region, aggregators));
    all
}

/// The count of aggregators in one region: the run's core.
pub fn count_family(region: &str, aggregators: usize) -> Family {
    let mut count = Family::new(&AGGREGATORS);
    count.push(&[region], aggregators as f64);
    count
}

/// The families of one aggregator's sources: a part of its own.
pub fn source_families(region: &str, a: &Aggregator) -> Vec<Family> {
    sources_of(region, std::slice::from_ref(a))
}

fn sources_of(region: &str, aggregators: &[Aggregator]) -> Vec<Family> {
    let mut sources = Family::new(&SOURCES);
    let mut status = Family::new(&STATUS);
    let mut last = Family::new(&LAST_UPDATE);
    let mut error = Family::new(&LAST_ERROR);
    for a in aggregators {
        let mut by_status: std::collections::BTreeMap<&str, usize> = Default::default();
        for s in &a.sources {
            *by_status.entry(s.status.as_str()).or_default() += 1;
        }
        for (st, n) in by_status {
            sources.push(&[region, a.name.as_str(), st], n as f64);
        }
        for s in a.sources.iter().filter(|s| s.status != "SUCCEEDED") {
            let l = [
                region,
                a.name.as_str(),
                s.source_id.as_str(),
                s.source_type.as_str(),
                s.region.as_str(),
            ];
            status.push_state(&l, &s.status);
            if let Some(t) = s.last_update {
                last.push(&l, t);
            }
            if s.status == "FAILED" {
                let mut le = l.to_vec();
                le.push(s.error_code.as_deref().unwrap_or(""));
                error.push(&le, 1.0);
            }
        }
    }
    vec![sources, status, last, error]
}

#[cfg(test)]
mod tests {
    use super::super::api::SourceStatus;
    use super::*;

    fn text(fams: &[Family]) -> String {
        fams.iter().map(|f| f.text()).collect()
    }

    #[test]
    fn golden_sources_in_every_state() {
        let aggs = vec![
            Aggregator {
                name: "organization-aggregator".into(),
                sources: vec![
                    SourceStatus {
                        source_id: "o-abc123def4".into(),
                        source_type: "ORGANIZATION".into(),
                        region: "us-east-1".into(),
                        status: "SUCCEEDED".into(),
                        last_update: Some(1_700_000_000.0),
                        error_code: None,
                        error_message: None,
                    },
                    SourceStatus {
                        source_id: "o-abc123def4".into(),
                        source_type: "ORGANIZATION".into(),
                        region: "eu-west-1".into(),
                        status: "FAILED".into(),
                        last_update: Some(1_699_990_000.25),
                        error_code: Some("OrganizationAccessDeniedException".into()),
                        error_message: Some("role cannot read the organization".into()),
                    },
                ],
            },
            Aggregator {
                name: "accounts".into(),
                sources: vec![
                    SourceStatus {
                        source_id: "123456789012".into(),
                        source_type: "ACCOUNT".into(),
                        region: "us-east-1".into(),
                        status: "OUTDATED".into(),
                        last_update: None,
                        error_code: None,
                        error_message: None,
                    },
                    SourceStatus {
                        source_id: "210987654321".into(),
                        source_type: "ACCOUNT".into(),
                        region: "us-east-1".into(),
                        status: "PAUSED".into(),
                        last_update: Some(1.0),
                        error_code: None,
                        error_message: None,
                    },
                ],
            },
        ];
        // The SUCCEEDED source is only counted; the others are listed, with their last update
        // where AWS gave one.
        let want = "\
aws_config_aggregators{region=\"us-east-1\"} 2
aws_config_aggregator_sources{region=\"us-east-1\",aggregator=\"organization-aggregator\",status=\"FAILED\"} 1
aws_config_aggregator_sources{region=\"us-east-1\",aggregator=\"organization-aggregator\",status=\"SUCCEEDED\"} 1
aws_config_aggregator_sources{region=\"us-east-1\",aggregator=\"accounts\",status=\"OUTDATED\"} 1
aws_config_aggregator_sources{region=\"us-east-1\",aggregator=\"accounts\",status=\"PAUSED\"} 1
aws_config_aggregator_source_status{region=\"us-east-1\",aggregator=\"organization-aggregator\",source_id=\"o-abc123def4\",source_type=\"ORGANIZATION\",source_region=\"eu-west-1\",status=\"FAILED\"} 1
aws_config_aggregator_source_status{region=\"us-east-1\",aggregator=\"accounts\",source_id=\"123456789012\",source_type=\"ACCOUNT\",source_region=\"us-east-1\",status=\"OUTDATED\"} 1
aws_config_aggregator_source_status{region=\"us-east-1\",aggregator=\"accounts\",source_id=\"210987654321\",source_type=\"ACCOUNT\",source_region=\"us-east-1\",status=\"PAUSED\"} 1
aws_config_aggregator_source_last_update_timestamp_seconds{region=\"us-east-1\",aggregator=\"organization-aggregator\",source_id=\"o-abc123def4\",source_type=\"ORGANIZATION\",source_region=\"eu-west-1\"} 1699990000.25
aws_config_aggregator_source_last_update_timestamp_seconds{region=\"us-east-1\",aggregator=\"accounts\",source_id=\"210987654321\",source_type=\"ACCOUNT\",source_region=\"us-east-1\"} 1
aws_config_aggregator_source_last_error_info{region=\"us-east-1\",aggregator=\"organization-aggregator\",source_id=\"o-abc123def4\",source_type=\"ORGANIZATION\",source_region=\"eu-west-1\",error_code=\"OrganizationAccessDeniedException\"} 1
";
        assert_eq!(text(&families("us-east-1", &aggs)), want);
    }

    #[test]
    fn golden_no_aggregators() {
        assert_eq!(
            text(&families("eu-west-1", &[])),
            "aws_config_aggregators{region=\"eu-west-1\"} 0\n"
        );
    }
}
