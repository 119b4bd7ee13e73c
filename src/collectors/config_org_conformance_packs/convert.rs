//! The families of organization conformance packs: the same shape as organization rules', with
//! `pack` for `rule` (see [`org_deployments::families`]).

use crate::collectors::org_deployments::{self, descs, Origin, View};
use crate::metrics::Family;

descs! {
    /// The descriptors of the organization conformance packs' families.
    pub static DESCS: "pack", "aws_config_org_conformance_pack" {
        status: "Organization-wide deployment status of an organization conformance pack: 1, labelled with the current status (other statuses have no series).",
        last_update: "Unix time of the last update of the pack's organization-wide status.",
        excluded: "Accounts of the organization the conformance pack is not deployed to (ExcludedAccounts).",
        member_accounts: "Member accounts of the organization per deployment status of the conformance pack (every status exported, 0 when none).",
        member_status: "1 for each member account whose deployment of the conformance pack is in one of the configured detail statuses (by default the failed ones), with AWS's error code.",
        member_last_update: "Unix time of the last status update of the pack in a member account listed in aws_config_org_conformance_pack_member_status.",
    }
}

/// The families of the organization conformance packs.
pub fn families(deployed_by: &str, packs: &[View]) -> Vec<Family> {
    org_deployments::families(&DESCS, Origin::by(deployed_by), packs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::org_deployments::MemberStatus;
    use std::collections::BTreeMap;

    #[test]
    fn golden_failed_pack_with_a_member_and_a_new_status() {
        let packs = vec![View {
            name: "org-operational-best-practices-for-amazon-s3".into(),
            status: "UPDATE_FAILED".into(),
            last_update: Some(1_700_000_000.0),
            excluded_accounts: Some(0),
            counts: Some(BTreeMap::from([
                ("UPDATE_SUCCESSFUL".to_string(), 3),
                ("UPDATE_FAILED".to_string(), 1),
                ("UPDATE_PAUSED".to_string(), 2),
            ])),
            members: vec![MemberStatus {
                account_id: "111111111111".into(),
                status: "UPDATE_FAILED".into(),
                error_code: Some("MaxNumberOfConformancePacksExceededException".into()),
                error_message: Some("too many packs".into()),
                last_update: Some(1_699_999_000.5),
            }],
        }];
        let got: String = families("000000000001", &packs)
            .iter()
            .map(|f| f.text())
            .collect();
        let p =
            "pack=\"org-operational-best-practices-for-amazon-s3\",deployed_by=\"000000000001\"";
        let want = format!(
            "\
aws_config_org_conformance_pack_status{{{p},status=\"UPDATE_FAILED\"}} 1
aws_config_org_conformance_pack_last_update_timestamp_seconds{{{p}}} 1700000000
aws_config_org_conformance_pack_excluded_accounts{{{p}}} 0
aws_config_org_conformance_pack_member_accounts{{{p},status=\"CREATE_SUCCESSFUL\"}} 0
aws_config_org_conformance_pack_member_accounts{{{p},status=\"CREATE_IN_PROGRESS\"}} 0
aws_config_org_conformance_pack_member_accounts{{{p},status=\"CREATE_FAILED\"}} 0
aws_config_org_conformance_pack_member_accounts{{{p},status=\"DELETE_SUCCESSFUL\"}} 0
aws_config_org_conformance_pack_member_accounts{{{p},status=\"DELETE_FAILED\"}} 0
aws_config_org_conformance_pack_member_accounts{{{p},status=\"DELETE_IN_PROGRESS\"}} 0
aws_config_org_conformance_pack_member_accounts{{{p},status=\"UPDATE_SUCCESSFUL\"}} 3
aws_config_org_conformance_pack_member_accounts{{{p},status=\"UPDATE_IN_PROGRESS\"}} 0
aws_config_org_conformance_pack_member_accounts{{{p},status=\"UPDATE_FAILED\"}} 1
aws_config_org_conformance_pack_member_accounts{{{p},status=\"UPDATE_PAUSED\"}} 2
aws_config_org_conformance_pack_member_status{{{p},account_id=\"111111111111\",status=\"UPDATE_FAILED\",error_code=\"MaxNumberOfConformancePacksExceededException\"}} 1
aws_config_org_conformance_pack_member_last_update_timestamp_seconds{{{p},account_id=\"111111111111\"}} 1699999000.5
"
        );
        assert_eq!(got, want);
    }
}
