//! Pure conversion of organization rule statuses into metric families.
//!
//! One [`RuleView`] per rule carries what a run knows about it: always the organization status;
//! the member counts and the members in the detail statuses only when a member scan of the
//! rule's current status is at hand (a rule whose scan was put off to the next run exports its
//! status alone, never counts from another status). Error messages never become labels: they
//! are long, free text, and would make a new series each time AWS rewords them.

use crate::collectors::org_deployments::{self, descs, Origin};
use crate::metrics::Family;

/// What the exporter shows of one rule.
pub type RuleView = org_deployments::View;

descs! {
    /// The descriptors of the organization rules' families.
    pub static DESCS: "rule", "aws_config_org_rule" {
        status: "Organization-wide deployment status of an organization AWS Config rule: 1, labelled with the current status (other statuses have no series).",
        last_update: "Unix time of the last update of the rule's organization-wide status.",
        excluded: "Accounts of the organization the rule is not deployed to (ExcludedAccounts).",
        member_accounts: "Member accounts of the organization per deployment status of the rule (every status exported, 0 when none).",
        member_status: "1 for each member account whose deployment of the rule is in one of the configured detail statuses (by default the failed ones), with AWS's error code.",
        member_last_update: "Unix time of the last status update of the rule in a member account listed in aws_config_org_rule_member_status.",
    }
}

/// The families of the organization rules.
pub fn families(deployed_by: &str, rules: &[RuleView]) -> Vec<Family> {
    org_deployments::families(&DESCS, Origin::by(deployed_by), rules)
}

#[cfg(test)]
mod tests {
    use super::super::api::MemberStatus;
    use super::*;
    use std::collections::BTreeMap;

    fn text(fams: &[Family]) -> String {
        fams.iter().map(|f| f.text()).collect()
    }

    #[test]
    fn golden_failed_rule_with_members_and_a_rule_without_counts() {
        let rules = vec![
            RuleView {
                name: "org-encrypted-volumes".into(),
                status: "CREATE_FAILED".into(),
                last_update: Some(1_700_000_000.0),
                excluded_accounts: Some(1),
                counts: Some(BTreeMap::from([
                    ("CREATE_SUCCESSFUL".to_string(), 997),
                    ("CREATE_FAILED".to_string(), 2),
                    ("CREATE_PAUSED".to_string(), 1),
                ])),
                members: vec![
                    MemberStatus {
                        account_id: "111111111111".into(),
                        status: "CREATE_FAILED".into(),
                        error_code: Some("NoAvailableConfigurationRecorderException".into()),
                        error_message: Some("no recorder".into()),
                        last_update: Some(1_699_999_000.5),
                    },
                    MemberStatus {
                        account_id: "222222222222".into(),
                        status: "CREATE_FAILED".into(),
                        error_code: None,
                        error_message: None,
                        last_update: None,
                    },
                ],
            },
            RuleView {
                name: "org-iam-password-policy".into(),
                status: "UPDATE_IN_PROGRESS".into(),
                last_update: None,
                excluded_accounts: None,
                counts: None,
                members: vec![],
            },
        ];
        let want = "\
aws_config_org_rule_status{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",status=\"CREATE_FAILED\"} 1
aws_config_org_rule_status{rule=\"org-iam-password-policy\",deployed_by=\"000000000001\",status=\"UPDATE_IN_PROGRESS\"} 1
aws_config_org_rule_last_update_timestamp_seconds{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\"} 1700000000
aws_config_org_rule_excluded_accounts{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\"} 1
aws_config_org_rule_member_accounts{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",status=\"CREATE_SUCCESSFUL\"} 997
aws_config_org_rule_member_accounts{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",status=\"CREATE_IN_PROGRESS\"} 0
aws_config_org_rule_member_accounts{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",status=\"CREATE_FAILED\"} 2
aws_config_org_rule_member_accounts{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",status=\"DELETE_SUCCESSFUL\"} 0
aws_config_org_rule_member_accounts{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",status=\"DELETE_FAILED\"} 0
aws_config_org_rule_member_accounts{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",status=\"DELETE_IN_PROGRESS\"} 0
aws_config_org_rule_member_accounts{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",status=\"UPDATE_SUCCESSFUL\"} 0
aws_config_org_rule_member_accounts{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",status=\"UPDATE_IN_PROGRESS\"} 0
aws_config_org_rule_member_accounts{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",status=\"UPDATE_FAILED\"} 0
aws_config_org_rule_member_accounts{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",status=\"CREATE_PAUSED\"} 1
aws_config_org_rule_member_status{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",account_id=\"111111111111\",status=\"CREATE_FAILED\",error_code=\"NoAvailableConfigurationRecorderException\"} 1
aws_config_org_rule_member_status{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",account_id=\"222222222222\",status=\"CREATE_FAILED\",error_code=\"\"} 1
aws_config_org_rule_member_last_update_timestamp_seconds{rule=\"org-encrypted-volumes\",deployed_by=\"000000000001\",account_id=\"111111111111\"} 1699999000.5
";
        assert_eq!(text(&families("000000000001", &rules)), want);
    }

    #[test]
    fn unknown_organization_status_keeps_its_spelling() {
        let rules = vec![RuleView {
            name: "r".into(),
            status: "CREATE_PAUSED".into(),
            ..RuleView::default()
        }];
        let got = text(&families("000000000001", &rules));
        assert_eq!(
            got,
            "aws_config_org_rule_status{rule=\"r\",deployed_by=\"000000000001\",status=\"CREATE_PAUSED\"} 1\n"
        );
    }

    #[test]
    fn no_rules_no_samples() {
        // Every family is still declared (so its HELP and TYPE are served), with no sample.
        let got = families("000000000001", &[]);
        assert_eq!(got.len(), 6, "one family per descriptor");
        assert!(got.iter().all(Family::is_empty));
        assert_eq!(text(&got), "");
        // The same families with one rule are not empty: the check can fail.
        let one = families(
            "000000000001",
            &[RuleView {
                name: "r".into(),
                status: "CREATE_SUCCESSFUL".into(),
                ..RuleView::default()
            }],
        );
        assert!(one.iter().any(|f| !f.is_empty()));
    }
}
