//! The families each collector exports, by the names `/metrics` shows (`_info` included), for
//! the deny list (`exclude_families`): `check-config` refuses a name that is none of these.
//!
//! The descriptions themselves are `static Desc` values private to each collector's `convert.rs`;
//! this list names them as the exposition does, and a test holds it to the golden exposition of
//! the demo, so a family added there without a line here fails the tests. Families that are not a
//! collector's (discovery's `aws_account_info`) are listed under [`OTHER`]. Keyed by the
//! collector's name; `CollectorKind::families` reads it.

/// Families exported beside the collectors': discovery's account info, the regions of
/// targets with `regions: enabled` (which the scheduler computes), and the exceptions the
/// configuration lists.
pub const OTHER: &[&str] = &[
    "aws_account_info",
    "aws_account_regions_enabled",
    "aws_account_region_opt_in",
    "aws_account_region_unwatched",
    "posture_exporter_exception",
    "posture_exporter_exception_review_timestamp_seconds",
];

/// Per collector (by its name), the families it exports, as `/metrics` names them.
pub const FAMILIES: &[(&str, &[&str])] = &[
    (
        "config_recorder",
        &[
            "aws_config_recorders",
            "aws_config_recorder_recording",
            "aws_config_recorder_last_status",
            "aws_config_recorder_last_status_change_timestamp_seconds",
            "aws_config_recorder_last_stop_timestamp_seconds",
            "aws_config_recorder_partial",
            "aws_config_recorder_daily",
            "aws_config_recorder_global_resources",
            "aws_config_delivery_channels",
            "aws_config_delivery_failing",
            "aws_config_delivery_last_success_timestamp_seconds",
            "aws_config_rule_evaluation_failing",
            "aws_config_rule_evaluation_last_success_timestamp_seconds",
        ],
    ),
    (
        "config_org_rules",
        &[
            "aws_config_org_rule_status",
            "aws_config_org_rule_last_update_timestamp_seconds",
            "aws_config_org_rule_excluded_accounts",
            "aws_config_org_rule_member_accounts",
            "aws_config_org_rule_member_status",
            "aws_config_org_rule_member_last_update_timestamp_seconds",
        ],
    ),
    (
        "config_org_conformance_packs",
        &[
            "aws_config_org_conformance_pack_status",
            "aws_config_org_conformance_pack_last_update_timestamp_seconds",
            "aws_config_org_conformance_pack_excluded_accounts",
            "aws_config_org_conformance_pack_member_accounts",
            "aws_config_org_conformance_pack_member_status",
            "aws_config_org_conformance_pack_member_last_update_timestamp_seconds",
        ],
    ),
    (
        "config_aggregators",
        &[
            "aws_config_aggregators",
            "aws_config_aggregator_sources",
            "aws_config_aggregator_source_status",
            "aws_config_aggregator_source_last_update_timestamp_seconds",
            "aws_config_aggregator_source_last_error_info",
        ],
    ),
    (
        "config_compliance",
        &[
            "aws_config_rules_by_compliance",
            "aws_config_rule_compliance",
            "aws_config_rule_noncompliant_resources",
            "aws_config_rule_noncompliant_resources_capped",
            "aws_config_rule_account_regions",
            "aws_config_conformance_packs_by_compliance",
            "aws_config_conformance_pack_compliance",
            "aws_config_conformance_pack_noncompliant_rules",
            "aws_config_conformance_pack_compliance_score_ratio",
            "aws_config_compliance_full_read_timestamp_seconds",
        ],
    ),
    (
        "guardduty",
        &[
            "aws_guardduty_feature_status",
            "aws_guardduty_detectors",
            "aws_guardduty_detector_enabled",
            "aws_guardduty_findings",
            "aws_guardduty_findings_by_account",
            "aws_guardduty_findings_overdue",
            "aws_guardduty_oldest_finding_created_timestamp_seconds",
            "aws_guardduty_members",
            "aws_guardduty_administrator_relationship",
            "aws_guardduty_feature_auto_enable",
            "aws_guardduty_org_auto_enable_members",
            "aws_guardduty_org_account_not_covered",
            "aws_guardduty_coverage_resources",
            "aws_guardduty_org_accounts",
            "aws_guardduty_org_feature_enabled_accounts",
            "aws_guardduty_threat_intel_set_status",
            "aws_guardduty_ip_set_status",
            "aws_guardduty_archive_filters",
            "aws_guardduty_archive_filter_can_hide_high",
            "aws_guardduty_pending_invitations",
            "aws_guardduty_pending_invitation_oldest_timestamp_seconds",
            "aws_guardduty_finding_publishing_frequency",
        ],
    ),
    (
        "iam_access_report",
        &[
            "aws_iam_org_access_report_job_status",
            "aws_iam_org_access_report_services_accessible",
            "aws_iam_org_access_report_services_not_accessed",
            "aws_iam_org_access_report_completion_timestamp_seconds",
            "aws_iam_org_access_report_service_last_authenticated_timestamp_seconds",
            "aws_iam_org_access_report_service_authenticated_entities",
        ],
    ),
    (
        "security_hub",
        &[
            "aws_securityhub_enabled",
            "aws_securityhub_generation",
            "aws_securityhub_members",
            "aws_securityhub_standards_enabled",
            "aws_securityhub_standard_status",
            "aws_securityhub_org_configuration",
            "aws_securityhub_policy_association_failed",
            "aws_securityhub_failed_controls",
            "aws_securityhub_control_failing_accounts",
            "aws_securityhub_control_pass_ratio",
            "aws_securityhub_findings",
            "aws_securityhub_findings_by_product",
            "aws_securityhub_statistics_capped",
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every family of the demo's golden exposition is listed, and every listed family is one
    /// the golden shows, one only GuardDuty's administrator mode exports, or a detail family the
    /// demo's settings list nothing in.
    #[test]
    fn the_list_is_what_the_demo_exports() {
        let golden = include_str!("../../tests/golden/demo-seed7.prom");
        let shown: BTreeSet<&str> = golden
            .lines()
            .filter(|l| l.starts_with("aws_") || l.starts_with("posture_exporter_exception"))
            .filter_map(|l| l.split(['{', ' ']).next())
            .collect();
        let listed: BTreeSet<&str> = FAMILIES
            .iter()
            .flat_map(|(_, f)| f.iter().copied())
            .chain(OTHER.iter().copied())
            .collect();
        let unlisted: Vec<_> = shown.difference(&listed).collect();
        assert!(unlisted.is_empty(), "exported but not listed: {unlisted:?}");
        let admin_only: BTreeSet<&str> = [
            "aws_guardduty_feature_auto_enable",
            "aws_guardduty_org_auto_enable_members",
            "aws_guardduty_org_account_not_covered",
            "aws_guardduty_coverage_resources",
            "aws_guardduty_org_accounts",
            "aws_guardduty_org_feature_enabled_accounts",
        ]
        .into();
        // Exported only for the compliance types `detail_compliance` lists (none by default).
        let detail_only: BTreeSet<&str> = [
            "aws_config_rule_compliance",
            "aws_config_conformance_pack_compliance",
        ]
        .into();
        // The demo reads the new Security Hub: CSPM's own families, and flags nothing capped;
        // and compliance from an aggregator, which answers no conformance pack scores.
        let off_in_demo: BTreeSet<&str> = [
            "aws_securityhub_members",
            "aws_securityhub_standards_enabled",
            "aws_securityhub_standard_status",
            "aws_securityhub_org_configuration",
            "aws_securityhub_policy_association_failed",
            "aws_securityhub_statistics_capped",
            // Read per account and region only; the demo reads compliance from its aggregator.
            "aws_config_conformance_pack_compliance_score_ratio",
            // Only where a region has not the one delivery channel AWS allows: every recorder
            // of the demo delivers to one.
            "aws_config_delivery_channels",
        ]
        .into();
        let unseen: Vec<_> = listed
            .difference(&shown)
            .filter(|n| {
                !admin_only.contains(*n) && !detail_only.contains(*n) && !off_in_demo.contains(*n)
            })
            .collect();
        assert!(unseen.is_empty(), "listed but not exported: {unseen:?}");
        let all: usize = FAMILIES.iter().map(|(_, f)| f.len()).sum();
        assert_eq!(all + OTHER.len(), listed.len(), "a family listed twice");
    }
}
