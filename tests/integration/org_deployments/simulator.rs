//! The simulator's own validation, as AWS's service model has it: limits, tokens of one listing
//! refused by another, unknown names, filters, and member accounts refused. Spoken through the
//! SDK's typed calls, which differ per kind, so one test per kind.

use aws_credential_types::Credentials;
use aws_sim::config_org as co;
use aws_sim::{Sim, WorldOptions};
use posture_exporter::config::Config;

use super::mgmt_yaml;
use crate::common::creds;

/// Config clients calling the simulator as `account` (the simulator reads the account from
/// the access key). Plain SDK clients: the exporter hands out none of its own, which are
/// reachable only through its call path.
pub async fn config_client(sim: &Sim, account: Option<&str>) -> aws_sdk_config::Client {
    let cfg = Config::from_yaml_str(&mgmt_yaml(sim, "")).unwrap();
    let creds = match account {
        None => creds(),
        Some(a) => Credentials::new(format!("ASIA{a}TEST"), "secret", None, None, "test"),
    };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        // Probes send what AWS refuses on purpose: the request check leaves them out.
        .app_name(aws_config::AppName::new(aws_sim::record::PROBE).unwrap())
        .region(aws_config::Region::new(cfg.aws.region.clone()))
        .endpoint_url(cfg.aws.endpoint_url.clone().unwrap())
        .credentials_provider(creds)
        .retry_config(
            aws_config::retry::RetryConfig::standard().with_max_attempts(cfg.aws.max_attempts),
        )
        .load()
        .await;
    aws_sdk_config::Client::new(&sdk)
}

fn code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("").to_string()
}

#[tokio::test]
async fn rules_the_simulator_validates_like_aws() {
    let sim = Sim::start(WorldOptions {
        members: 150,
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let c = config_client(&sim, None).await;
    let rule = "org-s3-bucket-versioning-enabled";
    // Limit: 0..=100 for every operation (the model's CosmosPageLimit and Limit shapes).
    let e = c
        .describe_organization_config_rules()
        .limit(101)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidLimitException");
    let e = c
        .get_organization_config_rule_detailed_status()
        .organization_config_rule_name(rule)
        .limit(101)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidLimitException");
    let e = c
        .describe_configuration_aggregator_sources_status()
        .configuration_aggregator_name("organization-aggregator")
        .limit(101)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidLimitException");
    let ok = c
        .describe_organization_config_rule_statuses()
        .limit(0)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.organization_config_rule_statuses().len(), 12);
    let ok = c
        .describe_organization_config_rules()
        .limit(5)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.organization_config_rules().len(), 5);
    let token = ok.next_token().unwrap().to_string();
    // A token of one listing is refused by another, and a forged one by all.
    let e = c
        .describe_organization_config_rule_statuses()
        .next_token(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidNextTokenException");
    let e = c
        .get_organization_config_rule_detailed_status()
        .organization_config_rule_name(rule)
        .next_token("1.0000000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidNextTokenException");
    let page = c
        .get_organization_config_rule_detailed_status()
        .organization_config_rule_name(rule)
        .send()
        .await
        .unwrap();
    assert_eq!(page.organization_config_rule_detailed_status().len(), 100);
    let page2 = c
        .get_organization_config_rule_detailed_status()
        .organization_config_rule_name(rule)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page2.organization_config_rule_detailed_status().len(), 51);
    assert!(page2.next_token().is_none());
    let e = c
        .get_organization_config_rule_detailed_status()
        .organization_config_rule_name("org-nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        "NoSuchOrganizationConfigRuleException"
    );
    let e = c
        .describe_configuration_aggregator_sources_status()
        .configuration_aggregator_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        "NoSuchConfigurationAggregatorException"
    );
    // Filters.
    let failed = c
        .get_organization_config_rule_detailed_status()
        .organization_config_rule_name(rule)
        .filters(
            aws_sdk_config::types::StatusDetailFilters::builder()
                .member_account_rule_status(
                    aws_sdk_config::types::MemberAccountRuleStatus::CreateFailed,
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let want = sim.world(|w| {
        let r = co::rule_by_name(w, rule).unwrap();
        co::member_statuses(w, r)
            .into_iter()
            .filter(|m| m.status == "CREATE_FAILED")
            .count()
    });
    assert!(want > 10);
    assert_eq!(
        failed.organization_config_rule_detailed_status().len(),
        want
    );
    assert!(failed
        .organization_config_rule_detailed_status()
        .iter()
        .all(|m| m.error_code().is_some() && m.error_message().is_some()));
    // A member account may not call the organization APIs.
    let member = sim.world(|w| w.accounts[4].id.clone());
    let m = config_client(&sim, Some(&member)).await;
    let e = m
        .describe_organization_config_rule_statuses()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        "OrganizationAccessDeniedException"
    );
    sim.stop();
}

#[tokio::test]
async fn packs_the_simulator_validates_like_aws() {
    let sim = Sim::start(WorldOptions::default()).await.unwrap();
    let c = config_client(&sim, None).await;
    let e = c
        .describe_organization_conformance_pack_statuses()
        .limit(101)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidLimitException");
    let e = c
        .get_organization_conformance_pack_detailed_status()
        .organization_conformance_pack_name("no-such-pack")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        "NoSuchOrganizationConformancePackException"
    );
    let e = c
        .describe_organization_conformance_packs()
        .organization_conformance_pack_names("no-such-pack")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        "NoSuchOrganizationConformancePackException"
    );
    // Pages of 1 walk every pack, each token good for its own listing only.
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let out = c
            .describe_organization_conformance_packs()
            .limit(1)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        names.extend(
            out.organization_conformance_packs()
                .iter()
                .map(|p| p.organization_conformance_pack_name().to_string()),
        );
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let want: Vec<String> = sim.world(|w| co::packs(w).iter().map(|p| p.name.clone()).collect());
    assert_eq!(names, want);
    let member = sim.world(|w| w.accounts[4].id.clone());
    let m = config_client(&sim, Some(&member)).await;
    let e = m
        .describe_organization_conformance_packs()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        "OrganizationAccessDeniedException"
    );
    sim.stop();
}
