//! What the world holds of Security Hub (both generations): its settings ([`Options`]), the
//! generated definitions every account draws from (the standards [`STANDARDS`], the controls
//! [`CONTROLS`], the finding products [`PRODUCTS`]) and the overrides tests put on top
//! ([`State`]). What every account holds is computed from the world by
//! [`securityhub_accounts`](crate::securityhub_accounts).

use std::collections::{HashMap, HashSet};

/// Generation settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Index of the member account that the management account designated as the Security Hub
    /// delegated administrator (of both Security Hub CSPM and Security Hub).
    pub admin_index: usize,
    /// The most members ListMembers puts in one page, whatever `MaxResults` asks (the model's
    /// ceiling is 50); tests lower it to force pagination.
    pub member_page: usize,
    /// The most findings GetFindings puts in one page (the model's ceiling is 100).
    pub findings_page: usize,
    /// The most entries GetEnabledStandards and ListConfigurationPolicyAssociations put in one
    /// page (the models' ceiling is 100).
    pub list_page: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            admin_index: 1,
            member_page: 50,
            findings_page: 100,
            list_page: 100,
        }
    }
}

/// A security standard: the resource portion of its ARN (what the ASFF calls a `StandardsId`,
/// "the resource portion of the Amazon Resource Name (ARN) returned for a standard in the
/// DescribeStandards API response"), and whether its ARN is regional.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Standard {
    /// `standards/aws-foundational-security-best-practices/v/1.0.0`, ...
    pub id: &'static str,
    /// Regional ARNs carry the region (`arn:aws:securityhub:us-east-1::standards/...`); the
    /// CIS 1.2.0 `ruleset` ARN has none.
    pub regional: bool,
}

/// The standards accounts subscribe to, in the order GetEnabledStandards lists them.
pub const STANDARDS: [Standard; 4] = [
    Standard {
        id: "standards/aws-foundational-security-best-practices/v/1.0.0",
        regional: true,
    },
    Standard {
        id: "standards/cis-aws-foundations-benchmark/v/1.4.0",
        regional: true,
    },
    Standard {
        id: "standards/pci-dss/v/3.2.1",
        regional: true,
    },
    Standard {
        id: "standards/nist-800-53/v/5.0.0",
        regional: true,
    },
];

/// A control: its security control id, title, severity label, the standards (indexes into
/// [`STANDARDS`]) that include it, and whether it checks the account itself (one result) or
/// resources of the account (one result per resource).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Control {
    /// `IAM.6`, `S3.1`, ...
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// ASFF severity label.
    pub severity: &'static str,
    /// Indexes into [`STANDARDS`].
    pub standards: &'static [usize],
    /// One result per account (`AwsAccount`), else per resource of `resource_type`.
    pub resource_type: &'static str,
}

const ACCOUNT: &str = "AwsAccount";

/// The controls every account with a standard enabled is checked against.
pub const CONTROLS: [Control; 20] = [
    Control { id: "IAM.6", title: "Hardware MFA should be enabled for the root user", severity: "CRITICAL", standards: &[0, 1, 2, 3], resource_type: ACCOUNT },
    Control { id: "IAM.4", title: "IAM root user access key should not exist", severity: "CRITICAL", standards: &[0, 1, 2, 3], resource_type: ACCOUNT },
    Control { id: "IAM.1", title: "IAM policies should not allow full \"*\" administrative privileges", severity: "HIGH", standards: &[0, 2, 3], resource_type: "AwsIamPolicy" },
    Control { id: "IAM.3", title: "IAM users' access keys should be rotated every 90 days or less", severity: "MEDIUM", standards: &[0, 1, 3], resource_type: "AwsIamUser" },
    Control { id: "S3.1", title: "S3 general purpose buckets should have block public access settings enabled", severity: "MEDIUM", standards: &[0, 1, 2, 3], resource_type: ACCOUNT },
    Control { id: "S3.5", title: "S3 general purpose buckets should require requests to use SSL", severity: "MEDIUM", standards: &[0, 1, 3], resource_type: "AwsS3Bucket" },
    Control { id: "S3.8", title: "S3 general purpose buckets should block public access", severity: "HIGH", standards: &[0, 1, 3], resource_type: "AwsS3Bucket" },
    Control { id: "EC2.2", title: "VPC default security groups should not allow inbound or outbound traffic", severity: "HIGH", standards: &[0, 1, 2, 3], resource_type: "AwsEc2SecurityGroup" },
    Control { id: "EC2.7", title: "EBS default encryption should be enabled", severity: "MEDIUM", standards: &[0, 1, 3], resource_type: ACCOUNT },
    Control { id: "EC2.8", title: "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)", severity: "HIGH", standards: &[0, 3], resource_type: "AwsEc2Instance" },
    Control { id: "EC2.19", title: "Security groups should not allow unrestricted access to ports with high risk", severity: "CRITICAL", standards: &[0, 3], resource_type: "AwsEc2SecurityGroup" },
    Control { id: "CloudTrail.1", title: "CloudTrail should be enabled and configured with at least one multi-Region trail that includes read and write management events", severity: "HIGH", standards: &[0, 1, 2, 3], resource_type: ACCOUNT },
    Control { id: "Config.1", title: "AWS Config should be enabled and use the service-linked role for resource recording", severity: "MEDIUM", standards: &[0, 1, 2, 3], resource_type: ACCOUNT },
    Control { id: "GuardDuty.1", title: "GuardDuty should be enabled", severity: "HIGH", standards: &[0, 2, 3], resource_type: ACCOUNT },
    Control { id: "KMS.4", title: "AWS KMS key rotation should be enabled", severity: "MEDIUM", standards: &[1, 2, 3], resource_type: "AwsKmsKey" },
    Control { id: "RDS.3", title: "RDS DB instances should have encryption at-rest enabled", severity: "MEDIUM", standards: &[0, 1, 3], resource_type: "AwsRdsDbInstance" },
    Control { id: "Lambda.1", title: "Lambda function policies should prohibit public access", severity: "CRITICAL", standards: &[0, 2, 3], resource_type: "AwsLambdaFunction" },
    Control { id: "CloudWatch.1", title: "A log metric filter and alarm should exist for usage of the \"root\" user", severity: "LOW", standards: &[1, 2, 3], resource_type: ACCOUNT },
    Control { id: "ECR.1", title: "ECR private repositories should have image scanning configured", severity: "HIGH", standards: &[0, 3], resource_type: "AwsEcrRepository" },
    Control { id: "SSM.1", title: "EC2 instances should be managed by AWS Systems Manager", severity: "MEDIUM", standards: &[0, 2, 3], resource_type: "AwsEc2Instance" },
];

/// The control that fails across many accounts (root user without hardware MFA).
pub const WIDESPREAD: &str = "IAM.6";

/// A product that sends findings to Security Hub: its ASFF `ProductName` (also OCSF
/// `metadata.product.name`), the resource portion of its product ARN, the OCSF class of its
/// findings, the resource type its findings are about, and a title per severity label
/// (INFORMATIONAL to CRITICAL).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Product {
    /// ASFF `ProductName`.
    pub name: &'static str,
    /// `product/aws/guardduty`, ...
    pub arn_resource: &'static str,
    /// OCSF `class_name`.
    pub class_name: &'static str,
    /// Resource type of its findings.
    pub resource_type: &'static str,
    /// Titles by severity, INFORMATIONAL first.
    pub titles: [&'static str; 5],
}

/// The control findings' product. "For example, the product name for control-based findings is
/// Security Hub CSPM" (the model's `StringFilter.Value`).
pub static CONTROL_PRODUCT: Product = Product {
    name: "Security Hub CSPM",
    arn_resource: "product/aws/securityhub",
    class_name: "Compliance Finding",
    resource_type: ACCOUNT,
    titles: ["", "", "", "", ""],
};

/// The products whose findings are not control results.
pub static PRODUCTS: [Product; 4] = [
    Product {
        name: "GuardDuty",
        arn_resource: "product/aws/guardduty",
        class_name: "Detection Finding",
        resource_type: "AwsEc2Instance",
        titles: [
            "Unusual DNS request volume from an EC2 instance",
            "Unprotected port on EC2 instance is being probed",
            "API GeneratedFindingAPIName was invoked from a known Tor exit node",
            "EC2 instance is communicating with a known command and control server",
            "Credentials for an EC2 instance role are used from an external IP address",
        ],
    },
    Product {
        name: "Inspector",
        arn_resource: "product/aws/inspector",
        class_name: "Vulnerability Finding",
        resource_type: "AwsEcrContainerImage",
        titles: [
            "Package with end-of-life support found",
            "CVE-2023-4807 - openssl",
            "CVE-2024-2511 - openssl",
            "CVE-2024-3094 - xz-utils",
            "CVE-2021-44228 - log4j-core",
        ],
    },
    Product {
        name: "Config",
        arn_resource: "product/aws/config",
        class_name: "Compliance Finding",
        resource_type: "AwsS3Bucket",
        titles: [
            "s3-bucket-versioning-enabled",
            "required-tags",
            "s3-bucket-logging-enabled",
            "restricted-ssh",
            "root-account-mfa-enabled",
        ],
    },
    Product {
        name: "Macie",
        arn_resource: "product/aws/macie",
        class_name: "Data Security Finding",
        resource_type: "AwsS3Bucket",
        titles: [
            "The S3 bucket is shared with another AWS account",
            "The S3 bucket does not encrypt new objects by default",
            "The S3 bucket contains personal information",
            "The S3 bucket contains credentials data",
            "The S3 bucket is publicly accessible and contains financial information",
        ],
    },
];

/// The ASFF severity labels, lowest first: "INFORMATIONAL | LOW | MEDIUM | HIGH | CRITICAL"
/// (the model's `SeverityLabel`).
pub const SEVERITY_LABELS: [&str; 5] = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

/// Overrides that tests put on top of the generated data.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub(crate) hub: HashMap<(String, String), bool>,
    /// (account, region) where the new Security Hub runs without Security Hub CSPM.
    pub(crate) cspm_off: HashSet<(String, String)>,
}

impl State {
    /// Nothing overridden yet.
    pub fn new(_opts: &Options) -> Self {
        State::default()
    }

    /// Turns Security Hub CSPM alone off in (account, region), the new Security Hub staying as
    /// `set_hub` left it: its operations answer InvalidAccessException there.
    pub fn set_cspm_off(&mut self, account: &str, region: &str) {
        self.cspm_off
            .insert((account.to_string(), region.to_string()));
    }

    /// Turns Security Hub (both generations) on or off in (account, region).
    pub fn set_hub(&mut self, account: &str, region: &str, enabled: bool) {
        self.hub
            .insert((account.to_string(), region.to_string()), enabled);
    }
}
