//! Whether Config data flows in an (account, region): the service-linked recorders beside the
//! customer-managed one, what the customer-managed recorder records (its recording group and
//! mode), the delivery channel's deliveries, and the evaluation status of the account's rules.
//!
//! Like the recorders themselves, everything follows the (account, region)'s place in a cycle of
//! ten (see [`World::recorders`]), so that an organization of a few accounts and two regions
//! shows every case, and a test can compute what the exporter must show:
//! - 1, 5, 8: a service-linked recorder ([`LINKED_PRINCIPAL`]); at 1 beside no customer-managed
//!   recorder at all;
//! - 6: the recorder records only listed resource types (`INCLUSION_BY_RESOURCE_TYPES`);
//!   9: every type but some (`EXCLUSION_BY_RESOURCE_TYPES`); 7: it records daily, not
//!   continuously;
//! - 8: the delivery channel's S3 deliveries (history and snapshot) fail with `AccessDenied`;
//! - 7: rule 0's evaluations fail since a day; 4: rule 1 never evaluated successfully.

use crate::wire::fnv;
use crate::world::{World, EPOCH};

/// The service principal of the generated service-linked recorders. The model documents the
/// member (`ServicePrincipal`: "For service-linked configuration recorders, specifies the linked
/// Amazon Web Services service", pattern `[\w+=,.@-]+`) but names no service; the Developer
/// Guide lists the services that create one.
pub const LINKED_PRINCIPAL: &str = "config-conforms.amazonaws.com";

/// The name AWS gives it: "Config automatically assigns a name that has the prefix
/// `AWSConfigurationRecorderFor` to a new service-linked configuration recorder" (model,
/// `ConfigurationRecorder.name`).
pub const LINKED_NAME: &str = "AWSConfigurationRecorderForConfigConforms";

/// The service principals that may own a service-linked recorder; another one is refused with
/// `ValidationException` ("You have provided a service principal for service-linked
/// configuration recorder that is not valid", model, `ValidationException`).
pub const KNOWN_PRINCIPALS: &[&str] = &[LINKED_PRINCIPAL, "securityhub.amazonaws.com"];

/// A service-linked recorder and its status.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkedRecorder {
    /// Name (`AWSConfigurationRecorderFor...`).
    pub name: String,
    /// The linked service.
    pub service_principal: String,
    /// `INTERNAL` or `PAID`.
    pub recording_scope: String,
    /// Recording or not.
    pub recording: bool,
    /// Unix seconds of the last status change.
    pub last_status_change: f64,
}

/// What the customer-managed recorder records.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// `ALL_SUPPORTED_RESOURCE_TYPES`, `INCLUSION_BY_RESOURCE_TYPES` or
    /// `EXCLUSION_BY_RESOURCE_TYPES`.
    pub strategy: &'static str,
    /// Included (inclusion) or excluded (exclusion) resource types.
    pub resource_types: Vec<&'static str>,
    /// `includeGlobalResourceTypes`.
    pub include_global: bool,
    /// `CONTINUOUS` or `DAILY`.
    pub frequency: &'static str,
}

/// One delivery (S3 history or snapshot, SNS stream) of a delivery channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// `Success`, `Failure` or `Not_Applicable`.
    pub status: &'static str,
    /// Error code of a failure.
    pub error_code: Option<&'static str>,
    /// Error message of a failure.
    pub error_message: Option<&'static str>,
    /// Unix seconds of the last attempt (S3) or status change (stream).
    pub last_attempt: f64,
    /// Unix seconds of the last success, if any.
    pub last_success: Option<f64>,
}

/// A delivery channel's status.
#[derive(Clone, Debug, PartialEq)]
pub struct Channel {
    /// Name.
    pub name: String,
    /// `configHistoryDeliveryInfo`.
    pub history: Delivery,
    /// `configSnapshotDeliveryInfo`.
    pub snapshot: Delivery,
    /// `configStreamDeliveryInfo`.
    pub stream: Delivery,
}

/// The evaluation status of one rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Rule name.
    pub rule: String,
    /// Unix seconds.
    pub first_activated: f64,
    /// Unix seconds of the last successful evaluation, if any.
    pub last_success: Option<f64>,
    /// Unix seconds of the last failed evaluation, if any.
    pub last_failure: Option<f64>,
    /// Error code of the last failure.
    pub error_code: Option<&'static str>,
    /// Error message of the last failure.
    pub error_message: Option<&'static str>,
}

impl World {
    /// The (account, region)'s place in the cycle of ten, when the organization has both.
    fn flow_pattern(&self, account: &str, region: &str) -> Option<usize> {
        let a = self.account(account)?;
        let r = self.region_index(region)?;
        Some((a.index * self.opts.regions.len() + r) % 10)
    }

    fn flow_time(&self, account: &str, region: &str, what: &str) -> f64 {
        let h = fnv(&format!("{}{account}{region}{what}", self.opts.seed));
        EPOCH - (h % 3_600) as f64 - 0.5
    }

    /// The service-linked recorders of (account, region).
    pub fn linked_recorders(&self, account: &str, region: &str) -> Vec<LinkedRecorder> {
        match self.flow_pattern(account, region) {
            Some(1 | 5 | 8) => vec![LinkedRecorder {
                name: LINKED_NAME.into(),
                service_principal: LINKED_PRINCIPAL.into(),
                recording_scope: "INTERNAL".into(),
                recording: true,
                last_status_change: self.flow_time(account, region, "linked"),
            }],
            _ => Vec::new(),
        }
    }

    /// The recording group and mode of the customer-managed recorder of (account, region).
    pub fn recording_group(&self, account: &str, region: &str) -> Group {
        let all = Group {
            strategy: "ALL_SUPPORTED_RESOURCE_TYPES",
            resource_types: Vec::new(),
            include_global: self.region_index(region) == Some(0),
            frequency: "CONTINUOUS",
        };
        match self.flow_pattern(account, region) {
            Some(6) => Group {
                strategy: "INCLUSION_BY_RESOURCE_TYPES",
                resource_types: vec!["AWS::EC2::Instance", "AWS::S3::Bucket", "AWS::IAM::Role"],
                include_global: false,
                ..all
            },
            Some(9) => Group {
                strategy: "EXCLUSION_BY_RESOURCE_TYPES",
                resource_types: vec!["AWS::EC2::NetworkInterface", "AWS::EC2::Volume"],
                include_global: false,
                ..all
            },
            Some(7) => Group {
                frequency: "DAILY",
                ..all
            },
            _ => all,
        }
    }

    /// The delivery channels of (account, region): one where a customer-managed recorder
    /// exists ("you can specify only one delivery channel per region in your account").
    pub fn delivery_channels(&self, account: &str, region: &str) -> Vec<Channel> {
        if self.recorders(account, region).is_empty() {
            return Vec::new();
        }
        let t = self.flow_time(account, region, "delivery");
        let ok = Delivery {
            status: "Success",
            error_code: None,
            error_message: None,
            last_attempt: t,
            last_success: Some(t),
        };
        let failing = Delivery {
            status: "Failure",
            error_code: Some("AccessDenied"),
            error_message: Some("Access Denied"),
            last_attempt: t,
            last_success: Some(t - 86_400.0 * 2.0),
        };
        let stream = if self.account(account).is_some_and(|a| a.index % 2 == 0) {
            Delivery {
                status: "Not_Applicable",
                last_success: None,
                ..ok.clone()
            }
        } else {
            ok.clone()
        };
        let s3 = if self.flow_pattern(account, region) == Some(8) {
            failing
        } else {
            ok
        };
        vec![Channel {
            name: "default".into(),
            history: s3.clone(),
            snapshot: s3,
            stream,
        }]
    }

    /// The evaluation status of the rules of (account, region) (`rules`, the names the Config
    /// handlers give them, in their order).
    pub fn rule_evaluations(
        &self,
        account: &str,
        region: &str,
        rules: &[String],
    ) -> Vec<Evaluation> {
        let Some(p) = self.flow_pattern(account, region) else {
            return Vec::new();
        };
        let t = self.flow_time(account, region, "rules");
        rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                let ok = Evaluation {
                    rule: rule.clone(),
                    first_activated: t - 86_400.0 * 60.0,
                    last_success: Some(t),
                    last_failure: None,
                    error_code: None,
                    error_message: None,
                };
                match (p, i) {
                    (7, 0) => Evaluation {
                        last_success: Some(t - 86_400.0),
                        last_failure: Some(t),
                        error_code: Some("AccessDeniedException"),
                        error_message: Some("Config is not authorized to read the resources the rule evaluates: the recorder's role lacks s3:GetBucketPolicy."),
                        ..ok
                    },
                    (4, 1) => Evaluation {
                        last_success: None,
                        last_failure: Some(t),
                        error_code: Some("InternalError"),
                        error_message: Some("An internal error occurred while evaluating the rule."),
                        ..ok
                    },
                    _ => ok,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldOptions;

    /// The default organization (six accounts, two regions) shows every case of the cycle, and
    /// only where a customer-managed recorder exists has a delivery channel.
    #[test]
    fn the_default_organization_shows_every_case() {
        let w = World::new(WorldOptions::default());
        let rules: Vec<String> = (0..3).map(|i| format!("rule-{i}")).collect();
        let (mut linked, mut linked_alone, mut strategies, mut daily) = (0, 0, Vec::new(), 0);
        let (mut failed_deliveries, mut failing_rules, mut never_ok) = (0, 0, 0);
        for a in &w.accounts {
            for r in &w.opts.regions {
                let own = w.recorders(&a.id, r);
                let l = w.linked_recorders(&a.id, r);
                linked += l.len();
                if own.is_empty() && !l.is_empty() {
                    linked_alone += 1;
                }
                let g = w.recording_group(&a.id, r);
                strategies.push(g.strategy);
                daily += usize::from(g.frequency == "DAILY");
                let ch = w.delivery_channels(&a.id, r);
                assert_eq!(ch.len(), usize::from(!own.is_empty()));
                failed_deliveries += ch
                    .iter()
                    .filter(|c| c.history.status == "Failure" && c.snapshot.status == "Failure")
                    .count();
                for e in w.rule_evaluations(&a.id, r, &rules) {
                    if e.last_failure.is_some() {
                        failing_rules += 1;
                        never_ok += usize::from(e.last_success.is_none());
                        assert!(e.error_code.is_some() && e.error_message.is_some());
                    }
                }
            }
        }
        assert!(linked >= 2 && linked_alone >= 1, "{linked} {linked_alone}");
        for s in ["INCLUSION_BY_RESOURCE_TYPES", "EXCLUSION_BY_RESOURCE_TYPES"] {
            assert!(strategies.contains(&s), "{s} missing");
        }
        assert!(daily >= 1 && failed_deliveries >= 1 && failing_rules >= 2 && never_ok >= 1);
    }
}
