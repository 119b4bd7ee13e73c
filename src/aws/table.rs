//! The services table (`services.rs`) as data: the [`Service`] enum and its facts, the
//! `aws.rate_limits` section ([`RateLimits`]), and every operation row ([`OPERATIONS`]).
//!
//! Everything the exporter knows about an AWS service or one of its operations is declared once,
//! in the table: the service's SDK crate, label, IAM prefix, reach (regional or global), protocol
//! and default rate limit; an operation's name, SDK method, pagination, and the members its
//! answer must have. This module makes of it what the layers below the call path read:
//!
//! - [`Service`]: its label (`as_str`, as in `posture_exporter_aws_api_calls`), its reach (the
//!   rate-limit key), IAM prefix, protocol and pagination token's spelling;
//! - [`RateLimits`], the config's `rate_limits:` section: one key per service label, each with
//!   its entry's default, unknown keys refused by serde with the list of the known ones;
//! - [`OPERATIONS`]: every row ([`OperationInfo`]), from which come the call counter's
//!   `'static` operation names, the members `answers` checks, and the IAM actions the policy
//!   test compares with `deploy/iam-policy.json`;
//! - [`ServiceClients`]: a slot for each service's shared client.
//!
//! The calls themselves (the clients, the entry points, an `Operation` per row) are made from the
//! same table in `call.rs`, above the clients, the call counter and the answers check.

use serde::Deserialize;

/// A token bucket: `rate` calls a second on average, `burst` at once (`aws.rate_limits.<label>`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Calls a second (0 disables the limit).
    pub rate: f64,
    /// Calls that may go at once after a quiet period.
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            rate: 5.0,
            burst: 10.0,
        }
    }
}

/// How a service's answers are encoded, which decides how `answers` checks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// JSON over `X-Amz-Target` (Config, Organizations).
    AwsJson,
    /// JSON over REST paths (GuardDuty).
    RestJson,
    /// Form-encoded requests, XML answers (IAM, STS): the parser accepts a document cut short,
    /// so an answer must end with its closing element.
    AwsQuery,
}

/// A list member of an answer and the members each of its entries must have.
pub type EntryMembers = (&'static str, &'static [&'static str]);

/// One row of the operations table, as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationInfo {
    /// The AWS operation name (`ListDetectors`): in errors, logs, the call counter's labels and
    /// the IAM action.
    pub name: &'static str,
    /// The service it belongs to.
    pub service: Service,
    /// The SDK client's method that builds its request (`list_detectors`).
    pub method: &'static str,
    /// The IAM action's name when it is not the operation's (empty otherwise).
    pub action: &'static str,
    /// Top-level members a 2xx JSON answer must have: those the exporter reads that AWS's
    /// service model marks required (the SDK would default them silently).
    pub required: &'static [&'static str],
    /// For a list member of the answer, the members each of its entries must have.
    pub entries: &'static [EntryMembers],
}

impl OperationInfo {
    /// The IAM action that allows it (`guardduty:ListDetectors`).
    pub fn iam_action(&self) -> String {
        let action = if self.action.is_empty() {
            self.name
        } else {
            self.action
        };
        format!("{}:{}", self.service.iam_prefix(), action)
    }
}

/// Makes the data of the table: matches the grammar of `services.rs` (as `call.rs`'s generator
/// does) and keeps what the layers below the call path need.
macro_rules! declare_services {
    (@global regional) => { false };
    (@global global) => { true };
    (@per regional) => { "per account and region" };
    (@per global) => { "per account (global service)" };
    (@protocol aws_json) => { Protocol::AwsJson };
    (@protocol rest_json) => { Protocol::RestJson };
    (@protocol aws_query) => { Protocol::AwsQuery };
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident {
            label: $label:ident,
            name: $name:literal,
            client: $krate:ident,
            iam_prefix: $iam:literal,
            reach: $reach:ident,
            protocol: $protocol:ident,
            next_token: $token:literal,
            rate_limit: { rate: $rate:literal, burst: $burst:literal } $(,)?
        } operations {$(
            $op:ident in $m:ident $([$paged:ident])? $(allowed_by $act:ident)?: $builder:ident -> $output:ident, $error:ident
            $(requires [$($top:ident),* $(,)?])?
            $(each $list:ident [$($member:ident),* $(,)?])*;
        )*}
    )*) => {
        /// The AWS services the exporter calls.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Service {$(
            $(#[doc = $doc])*
            $variant,
        )*}

        impl Service {
            /// Every service, in the table's order.
            pub const ALL: &'static [Service] = &[$(Service::$variant),*];

            /// The label value (`config`, `guardduty`, ...), as in
            /// `posture_exporter_aws_api_calls` and the keys of `aws.rate_limits`.
            pub fn as_str(self) -> &'static str {
                match self {$(Service::$variant => stringify!($label),)*}
            }

            /// The prefix of its IAM actions (`config`).
            pub fn iam_prefix(self) -> &'static str {
                match self {$(Service::$variant => $iam,)*}
            }

            /// Global services are limited per account, not per region.
            pub fn is_global(self) -> bool {
                match self {$(Service::$variant => declare_services!(@global $reach),)*}
            }

            /// How its answers are encoded.
            pub fn protocol(self) -> Protocol {
                match self {$(Service::$variant => declare_services!(@protocol $protocol),)*}
            }

            /// The pagination token's member name as the service spells it, for the errors
            /// that name it.
            pub fn next_token_member(self) -> &'static str {
                match self {$(Service::$variant => $token,)*}
            }

            /// Its rate limit when the config does not set one.
            pub fn default_rate_limit(self) -> RateLimit {
                match self {$(Service::$variant => RateLimit { rate: $rate, burst: $burst },)*}
            }
        }

        /// Rate limits per service (`aws.rate_limits`), one key per service label. The defaults
        /// stay below the request rates AWS documents for the read APIs the exporter calls,
        /// leaving room for other tools in the same accounts.
        #[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields, default)]
        pub struct RateLimits {$(
            #[doc = concat!($name, ", ", declare_services!(@per $reach), ".")]
            pub $label: RateLimit,
        )*}

        impl Default for RateLimits {
            fn default() -> Self {
                RateLimits {$($label: Service::$variant.default_rate_limit(),)*}
            }
        }

        impl RateLimits {
            /// The limit of `service`.
            pub fn get(&self, service: Service) -> RateLimit {
                match service {$(Service::$variant => self.$label,)*}
            }
        }

        /// Every operation the exporter sends, one per row of the table, in its order.
        pub const OPERATIONS: &[OperationInfo] = &[$($(
            OperationInfo {
                name: stringify!($op),
                service: Service::$variant,
                method: stringify!($m),
                action: concat!("" $(, stringify!($act))?),
                required: &[$($(stringify!($top)),*)?],
                entries: &[$((stringify!($list), &[$(stringify!($member)),*])),*],
            },
        )*)*];

        /// A slot for the shared client of each service, filled on first use by the call path
        /// (`call.rs`).
        #[derive(Default)]
        pub struct ServiceClients {$(
            pub(super) $label: std::sync::OnceLock<$krate::Client>,
        )*}
    };
}

super::services::services_table!(declare_services);

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn labels_and_operation_names_are_unique() {
        let labels: BTreeSet<_> = Service::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(labels.len(), Service::ALL.len());
        // The answers check finds a row by its service and name (GuardDuty and Security Hub
        // both have ListMembers and DescribeOrganizationConfiguration).
        let names: BTreeSet<_> = OPERATIONS.iter().map(|o| (o.service, o.name)).collect();
        assert_eq!(names.len(), OPERATIONS.len());
        for s in Service::ALL {
            assert!(
                OPERATIONS.iter().any(|o| o.service == *s),
                "{s:?} has no operation"
            );
        }
    }

    #[test]
    fn a_row_carries_its_service_action_and_required_members() {
        let row = |name: &str| OPERATIONS.iter().find(|o| o.name == name).copied();
        let gmd = row("GetMemberDetectors").unwrap();
        assert_eq!(gmd.service, Service::GuardDuty);
        assert_eq!(gmd.method, "get_member_detectors");
        assert_eq!(gmd.iam_action(), "guardduty:GetMemberDetectors");
        assert_eq!(gmd.required, ["members", "unprocessedAccounts"]);
        assert_eq!(
            gmd.entries,
            [
                ("members", &["accountId"][..]),
                ("unprocessedAccounts", &["accountId", "result"][..])
            ]
        );
        assert_eq!(
            row("GetFindingStatisticsV2").unwrap().iam_action(),
            "securityhub:GetAdhocInsightResults"
        );
        let assume = row("AssumeRole").unwrap();
        assert_eq!(assume.iam_action(), "sts:AssumeRole");
        assert!(assume.required.is_empty() && assume.entries.is_empty());
        assert_eq!(Service::Sts.protocol(), Protocol::AwsQuery);
        assert!(Service::Organizations.is_global() && !Service::Config.is_global());
        assert_eq!(Service::GuardDuty.next_token_member(), "nextToken");
    }
}
