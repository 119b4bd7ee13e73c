//! The `collectors.config_recorder` section: the three common settings, every 5 minutes by
//! default, and a switch for each of the reads beyond the recorders' status (all on by default),
//! for a user who wants the smallest call count.

use serde::Deserialize;

use crate::config::section::{Key, Own, Parts};

/// `config_recorder`: AWS Config recorders and whether their data flows, per account and region.
pub type Settings = Parts<300, Recorder>;

/// What is particular to `config_recorder`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Recorder {
    /// Read every recorder with ListConfigurationRecorders and the status of each by its ARN,
    /// service-linked ones included (one call more per service-linked recorder). Off: only the
    /// customer-managed recorder's status, as DescribeConfigurationRecorderStatus answers
    /// without a name.
    #[serde(default = "yes")]
    pub service_linked: bool,
    /// Read what the customer-managed recorder records (DescribeConfigurationRecorders'
    /// recording group and mode) and flag a recorder that records only part of the account.
    #[serde(default = "yes")]
    pub recording_scope: bool,
    /// Read the delivery channel's status (DescribeDeliveryChannelStatus) and flag failed
    /// deliveries to S3 and SNS.
    #[serde(default = "yes")]
    pub delivery: bool,
    /// Read the rules' evaluation status (DescribeConfigRuleEvaluationStatus, 50 rules a call)
    /// and flag rules whose last evaluation failed.
    #[serde(default = "yes")]
    pub rule_evaluations: bool,
}

fn yes() -> bool {
    true
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            service_linked: true,
            recording_scope: true,
            delivery: true,
            rule_evaluations: true,
        }
    }
}

impl Own for Recorder {
    const PLACEMENT: &'static [Key] = &[];
}
