//! The configuration as users write it: every problem of a broken file, with its path.

use std::time::Duration;

use super::*;
use crate::config::section::Section as _;

const GOOD: &str = r#"
listen: 127.0.0.1:9946
aws:
  region: eu-west-1
  endpoint_url: http://127.0.0.1:4566
targets:
  - name: management
    regions: [eu-west-1, us-east-1]
  - name: audit
    role_arn: arn:aws:iam::123456789012:role/PostureExporterReadOnly
    external_id: abc123
    regions: [eu-west-1]
collectors:
  config_recorder:
    interval: 1h30m
"#;

#[test]
fn the_shipped_example_is_valid() {
    let c = Config::from_yaml_str(include_str!("../../config.example.yaml")).unwrap();
    assert_eq!(c.targets[0].name, "management");
    assert_eq!(c.aws.rate_limits, RateLimits::default());
    assert_eq!(
        c.collectors.config_org_rules.detail_statuses,
        crate::collectors::config_org_rules::Settings::default().detail_statuses
    );
}

#[test]
fn good_config_loads_with_defaults() {
    let c = Config::from_yaml_str(GOOD).unwrap();
    assert_eq!(c.listen, "127.0.0.1:9946");
    assert_eq!(c.aws.region, "eu-west-1");
    assert_eq!(c.aws.max_attempts, 5);
    assert_eq!(c.targets.len(), 2);
    assert_eq!(
        c.collectors.config_recorder.common.interval.0,
        Duration::from_secs(5400)
    );
    assert_eq!(
        c.collectors.config_recorder.schedule().timeout,
        Duration::from_secs(300)
    );
    assert_eq!(c.max_stale_intervals, 3);
}

fn problems(yaml: &str) -> Vec<Problem> {
    Config::from_yaml_str(yaml).unwrap_err().problems
}

fn has(ps: &[Problem], path: &str, needle: &str) -> bool {
    ps.iter()
        .any(|p| p.path == path && p.message.contains(needle))
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let ps = problems(
        r#"
listen: "not an address"
aws:
  region: mars-1
  bogus: 1
targets:
  - name: a
    regions: [us-east-1, nowhere]
    role_arn: arn:aws:iam::12:role/x
  - name: a
    regions: []
collectors:
  config_recorder:
    interval: 5 minutes
  config_recorderz: {}
"#,
    );
    assert!(has(&ps, "listen", "not an address"), "{ps:#?}");
    assert!(has(&ps, "aws.bogus", "unknown field `bogus`"), "{ps:#?}");
    assert!(
        has(&ps, "targets[0].regions[1]", "not an AWS region"),
        "{ps:#?}"
    );
    assert!(
        has(&ps, "targets[0].role_arn", "not an IAM role ARN"),
        "{ps:#?}"
    );
    assert!(has(&ps, "targets[1].name", "unique"), "{ps:#?}");
    assert!(has(&ps, "targets[1].regions", "empty"), "{ps:#?}");
    assert!(
        has(
            &ps,
            "collectors.config_recorder.interval",
            "invalid duration"
        ),
        "{ps:#?}"
    );
    assert!(
        has(&ps, "collectors.config_recorderz", "unknown collector"),
        "{ps:#?}"
    );
    assert_eq!(ps.len(), 8, "{ps:#?}");
}

#[test]
fn empty_targets_and_unknown_top_level_keys() {
    let ps = problems("targets: []\nlisten_addr: x\n");
    assert!(has(&ps, "targets", "empty"), "{ps:#?}");
    assert!(has(&ps, "listen_addr", "unknown setting"), "{ps:#?}");
    let ps = problems("listen: 0.0.0.0:1\n");
    assert!(has(&ps, "targets", "missing"), "{ps:#?}");
    let ps = problems("");
    assert!(ps[0].message.contains("empty"), "{ps:#?}");
}

#[test]
fn syntax_errors_carry_a_line() {
    let ps = problems("targets:\n  - name: a\n    regions: [us-east-1\n");
    assert_eq!(ps.len(), 1);
    assert!(ps[0].line.is_some(), "{ps:#?}");
}

#[test]
fn regions_may_be_enabled_and_nothing_else_but_a_list() {
    let c =
        Config::from_yaml_str(&GOOD.replace("regions: [eu-west-1]", "regions: enabled")).unwrap();
    assert_eq!(c.targets[1].regions, Regions::Enabled);
    assert!(c.targets[1].regions.from_aws());
    assert_eq!(
        c.targets[0].regions,
        Regions::Listed(vec!["eu-west-1".into(), "us-east-1".into()])
    );
    // A misspelling is refused with what is accepted, not read as a region.
    let ps = problems(&GOOD.replace("regions: [eu-west-1]", "regions: all"));
    assert!(
        has(
            &ps,
            "targets[1].regions",
            "`enabled` for every region enabled in the account"
        ),
        "{ps:#?}"
    );
}

#[test]
fn wrong_types_name_the_field() {
    let ps = problems("targets:\n  - name: a\n    regions: us-east-1\nmax_stale_intervals: lots\n");
    assert!(has(&ps, "targets[0].regions", "invalid type"), "{ps:#?}");
    assert!(has(&ps, "max_stale_intervals", "invalid type"), "{ps:#?}");
}

#[test]
fn durations_parse_and_print() {
    for (s, secs) in [
        ("30s", 30),
        ("5m", 300),
        ("6h", 21600),
        ("1h30m", 5400),
        ("1d", 86400),
    ] {
        assert_eq!(
            HumanDuration::parse(s).unwrap().0,
            Duration::from_secs(secs)
        );
        assert_eq!(HumanDuration::parse(s).unwrap().to_string(), s);
    }
    assert_eq!(
        HumanDuration::parse("250ms").unwrap().0,
        Duration::from_millis(250)
    );
    for bad in ["", "5", "m", "5x", "-5s", "5 m", "99999999999999999999999d"] {
        assert!(HumanDuration::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn arn_region_and_account_shapes() {
    assert_eq!(
        role_arn_account("arn:aws:iam::123456789012:role/a/b"),
        Some("123456789012")
    );
    assert_eq!(role_arn_account("arn:aws:iam::123456789012:user/a"), None);
    assert_eq!(role_arn_account("arn:aws:s3:::bucket"), None);
    assert!(valid_region("us-gov-west-1"));
    assert!(valid_region("ap-southeast-2"));
    assert!(!valid_region("us-east"));
    assert!(!valid_region("US-EAST-1"));
    assert!(valid_account_id("012345678901"));
    assert!(!valid_account_id("01234567890a"));
}

#[test]
fn a_type_error_in_one_section_hides_no_other_sections_problems() {
    let ps = problems(
        r#"
aws:
  max_attempts: many
web:
  max_connections: 0
targets:
  - name: a
    regions: [nowhere-1]
  - name: b
    regions: us-east-1
collectors:
  guardduty: {interval: soon}
  config_org_rules:
    target: b
    detail_statuses: [BROKEN]
  config_aggregators:
    regions: [moon-1]
"#,
    );
    // The type errors, once each, with their paths.
    assert!(has(&ps, "aws.max_attempts", "invalid type"), "{ps:#?}");
    assert!(has(&ps, "targets[1].regions", "invalid type"), "{ps:#?}");
    assert!(
        has(&ps, "collectors.guardduty.interval", "invalid duration"),
        "{ps:#?}"
    );
    // Every other section's semantic problems, still found.
    assert!(has(&ps, "web.max_connections", "at least 1"), "{ps:#?}");
    assert!(
        has(&ps, "targets[0].regions[0]", "not an AWS region"),
        "{ps:#?}"
    );
    assert!(
        has(
            &ps,
            "collectors.config_org_rules.detail_statuses[0]",
            "BROKEN"
        ),
        "{ps:#?}"
    );
    assert!(
        has(&ps, "collectors.config_aggregators.regions[0]", "moon-1"),
        "{ps:#?}"
    );
    // `b` did not parse but named itself: a reference to it is no second problem.
    assert!(
        !ps.iter().any(|p| p.message.contains("no target is named")),
        "{ps:#?}"
    );
    assert_eq!(ps.len(), 7, "{ps:#?}");
}

#[test]
fn the_external_url_must_be_an_http_url_without_query() {
    let with = |u: &str| {
        format!("web:\n  external_url: \"{u}\"\ntargets:\n  - name: a\n    regions: [us-east-1]\n")
    };
    let c = Config::from_yaml_str(&with("https://posture.example.com/")).unwrap();
    assert_eq!(c.web.external_url(), Some("https://posture.example.com"));
    let c = Config::from_yaml_str(&with("http://10.0.0.1:9946/posture")).unwrap();
    assert_eq!(c.web.external_url(), Some("http://10.0.0.1:9946/posture"));
    for (bad, why) in [
        ("posture.example.com", "must start with http:// or https://"),
        ("https://", "has no host"),
        ("https://a b", "contains a space"),
        ("https://x/\\\"", "contains a space, a quote"),
        ("https://x/?a=1", "query or a fragment"),
    ] {
        let ps = problems(&with(bad));
        assert!(has(&ps, "web.external_url", why), "{bad}: {ps:?}");
    }
    // Unset by default.
    assert_eq!(
        Config::from_yaml_str(GOOD).unwrap().web.external_url(),
        None
    );
}

#[test]
fn config_compliance_takes_one_source_and_known_types() {
    let ps = problems(
        r#"
targets:
  - name: management
    regions: [us-east-1]
collectors:
  config_compliance:
    target: management
    region: mars-1
    full_read_interval: 2h
    detail_compliance: [NON_COMPLIANT, NONCOMPLIANT]
"#,
    );
    let path = "collectors.config_compliance";
    assert!(
        has(
            &ps,
            &format!("{path}.full_read_interval"),
            "only with `aggregator`"
        ),
        "{ps:?}"
    );
    assert!(
        has(&ps, &format!("{path}.target"), "only with `aggregator`"),
        "{ps:?}"
    );
    assert!(
        has(&ps, &format!("{path}.region"), "only with `aggregator`"),
        "{ps:?}"
    );
    assert!(
        has(&ps, &format!("{path}.region"), "not an AWS region"),
        "{ps:?}"
    );
    assert!(
        has(
            &ps,
            &format!("{path}.detail_compliance[1]"),
            "`NONCOMPLIANT` is not a compliance type"
        ),
        "{ps:?}"
    );
    assert!(
        !ps.iter().any(|p| p.path.ends_with("detail_compliance[0]")),
        "{ps:?}"
    );

    let ps = problems(
        r#"
targets:
  - name: management
    regions: [us-east-1]
collectors:
  config_compliance:
    aggregator: "org aggregator"
    target: elsewhere
"#,
    );
    assert!(
        has(&ps, &format!("{path}.aggregator"), "not an aggregator name"),
        "{ps:?}"
    );
    assert!(has(&ps, &format!("{path}.target"), "elsewhere"), "{ps:?}");

    use crate::collect::{Collector, Scope};
    use crate::collectors::config_compliance::{ConfigCompliance, Settings};
    let c = Config::from_yaml_str(
        "targets:\n  - name: m\n    regions: [us-east-1]\ncollectors:\n  config_compliance:\n    aggregator: org-aggregator\n    region: eu-west-1\n",
    )
    .unwrap();
    assert_eq!(
        ConfigCompliance::scope(&c.collectors.config_compliance),
        Scope::Org
    );
    assert_eq!(
        ConfigCompliance::scope(&Settings::default()),
        Scope::AccountRegion
    );
    assert!(
        c.collectors.config_compliance.detail_compliance.is_empty(),
        "a NON_COMPLIANT rule has its own series; nothing is repeated by default"
    );
    assert_eq!(
        c.collectors.config_compliance.full_read_interval().0,
        std::time::Duration::from_secs(3600),
        "a full listing an hour by default"
    );
    assert!(c.collectors.config_compliance.incremental());
    let mut detailed = Settings::default();
    detailed.own.detail_compliance = vec!["NON_COMPLIANT".into(), "INSUFFICIENT_DATA".into()];
    assert!(
        !detailed.incremental(),
        "an INSUFFICIENT_DATA series per rule needs every run to list everything"
    );
}

/// STS's model shapes an external id as `[\w+=,.@:\/-]*` of 2 to 1224 characters: one with a
/// space or `#` would pass a length check and then fail every AssumeRole.
#[test]
fn an_external_id_sts_refuses_is_refused_here() {
    let with = |id: &str| GOOD.replace("external_id: abc123", &format!("external_id: \"{id}\""));
    let ps = problems(&with("tenant 42 / prod#1"));
    assert!(has(&ps, "targets[1].external_id", "STS refuses"), "{ps:?}");
    assert!(has(
        &problems(&with("x")),
        "targets[1].external_id",
        "2 to 1224"
    ));
    for ok in ["tenant-42/prod@eu:1", "a_b+c=d,e.f", &"x".repeat(1224)] {
        Config::from_yaml_str(&with(ok)).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

/// Organization rules and packs from several deployers: `targets` names existing targets, once
/// each, and is not given with `target`.
#[test]
fn org_deployment_targets_are_checked() {
    let with = |section: &str| {
        GOOD.replace(
            "collectors:\n",
            &format!("collectors:\n  config_org_rules:\n    {section}\n"),
        )
    };
    let c = Config::from_yaml_str(&with("targets: [management, audit]")).unwrap();
    assert_eq!(
        c.collectors.config_org_rules.placement().targets,
        ["management", "audit"]
    );
    let ps = problems(&with("targets: [management, nobody, management]"));
    assert!(
        has(
            &ps,
            "collectors.config_org_rules.targets[1]",
            "no target is named `nobody`"
        ),
        "{ps:?}"
    );
    assert!(
        has(
            &ps,
            "collectors.config_org_rules.targets[2]",
            "listed twice"
        ),
        "{ps:?}"
    );
    let ps = problems(&GOOD.replace(
        "collectors:\n",
        "collectors:\n  config_org_rules:\n    target: management\n    targets: [audit]\n",
    ));
    assert!(
        has(&ps, "collectors.config_org_rules.targets", "not both"),
        "{ps:?}"
    );
}

#[test]
fn exclude_families_refuses_unknown_names_with_the_closest_and_its_collector() {
    let c = Config::from_yaml_str(&format!(
        "{GOOD}exclude_families: [aws_guardduty_finding_publishing_frequency, aws_account_info]\n"
    ))
    .unwrap();
    assert_eq!(
        c.exclude_families,
        [
            "aws_guardduty_finding_publishing_frequency",
            "aws_account_info"
        ]
    );
    assert!(Config::from_yaml_str(GOOD)
        .unwrap()
        .exclude_families
        .is_empty());

    let ps = problems(&format!(
        "{GOOD}exclude_families:\n  - aws_config_recorders\n  - aws_guardduty_finding_publishing_frequncy\n  - aws_config_recorders\n  - nothing_like_it\nmax_stale_intervals: 0\n"
    ));
    assert!(
        has(
            &ps,
            "exclude_families[1]",
            "no collector exports a family named `aws_guardduty_finding_publishing_frequncy`; the closest is `aws_guardduty_finding_publishing_frequency`; collector `guardduty` exports `aws_guardduty_feature_status`,"
        ),
        "{ps:#?}"
    );
    assert!(has(&ps, "exclude_families[2]", "listed twice"), "{ps:#?}");
    assert!(
        has(
            &ps,
            "exclude_families[3]",
            "`nothing_like_it`; the README's metric tables list every family"
        ),
        "{ps:#?}"
    );
    // Every other problem is still listed beside them.
    assert!(has(&ps, "max_stale_intervals", "at least 1"), "{ps:#?}");
    assert_eq!(ps.len(), 4, "{ps:#?}");
    // Not a list.
    let ps = problems(&format!("{GOOD}exclude_families: aws_config_recorders\n"));
    assert!(ps.iter().any(|p| p.path == "exclude_families"), "{ps:#?}");
}

/// The placement keys are one spelling everywhere: organization rules and packs take `regions`
/// (one job in each) and still their old `region: x` as a list of one; the compliance aggregator
/// lives in one region and takes `region` only; a key a section does not take is unknown.
#[test]
fn placement_keys_are_spelled_alike_and_the_old_spelling_still_reads() {
    let with = |section: &str| GOOD.replace("collectors:\n", &format!("collectors:\n{section}"));
    for name in ["config_org_rules", "config_org_conformance_packs"] {
        let c = Config::from_yaml_str(&with(&format!(
            "  {name}:\n    regions: [us-east-1, eu-west-1]\n"
        )))
        .unwrap();
        let s = if name == "config_org_rules" {
            &c.collectors.config_org_rules
        } else {
            &c.collectors.config_org_conformance_packs
        };
        assert_eq!(
            s.placement().listed_regions(),
            ["us-east-1".to_string(), "eu-west-1".to_string()]
        );
        let c =
            Config::from_yaml_str(&with(&format!("  {name}:\n    region: eu-west-1\n"))).unwrap();
        let s = if name == "config_org_rules" {
            &c.collectors.config_org_rules
        } else {
            &c.collectors.config_org_conformance_packs
        };
        assert_eq!(s.placement().listed_regions(), ["eu-west-1".to_string()]);
        let ps = problems(&with(&format!(
            "  {name}:\n    region: eu-west-1\n    regions: [moon-1]\n"
        )));
        let at = |k: &str| format!("collectors.{name}.{k}");
        assert!(has(&ps, &at("region"), "not both"), "{ps:?}");
        assert!(has(&ps, &at("regions[0]"), "`moon-1`"), "{ps:?}");
        assert_eq!(ps.len(), 2, "{ps:?}");
    }
    let c = Config::from_yaml_str(&with(
        "  config_compliance:\n    aggregator: org\n    region: eu-west-1\n",
    ))
    .unwrap();
    assert_eq!(
        c.collectors.config_compliance.placement().listed_regions(),
        ["eu-west-1".to_string()]
    );
    for (section, key) in [
        (
            "config_compliance:\n    aggregator: org\n    regions: [eu-west-1]",
            "regions",
        ),
        ("config_aggregators:\n    region: eu-west-1", "region"),
        ("iam_access_report:\n    regions: [eu-west-1]", "regions"),
    ] {
        let ps = problems(&with(&format!("  {section}\n")));
        let name = section.split(':').next().unwrap_or_default();
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(ps[0].path, format!("collectors.{name}.{key}"));
        assert!(
            ps[0].message.starts_with(&format!(
                "unknown field `{key}`, expected one of `enabled`, `interval`, `timeout`"
            )),
            "{ps:?}"
        );
    }
    let ps = problems(&GOOD.replace("1h30m\n", "1h30m\n    target: management\n"));
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0].path, "collectors.config_recorder.target");
    assert_eq!(
        ps[0].message,
        "unknown field `target`, expected one of `enabled`, `interval`, `timeout`, \
         `service_linked`, `recording_scope`, `delivery`, `rule_evaluations`"
    );
}

#[test]
fn guardduty_finding_ages_default_per_severity_and_refuse_less_than_a_minute() {
    let c = Config::from_yaml_str(include_str!("../../config.example.yaml")).unwrap();
    assert_eq!(
        c.collectors.guardduty.finding_ages.by_bucket(),
        [30 * 86_400, 7 * 86_400, 86_400, 86_400].map(Duration::from_secs)
    );
    let c = Config::from_yaml_str(&format!(
        "{GOOD}  guardduty:\n    finding_ages: {{high: 4h}}\n"
    ))
    .unwrap();
    let ages = c.collectors.guardduty.finding_ages.by_bucket();
    assert_eq!(ages[2], Duration::from_secs(4 * 3600), "the one set");
    assert_eq!(
        ages[1],
        Duration::from_secs(7 * 86_400),
        "the others default"
    );
    let ps = problems(&format!(
        "{GOOD}  guardduty:\n    finding_ages: {{low: 30s, urgent: 1h}}\n"
    ));
    assert!(
        has(
            &ps,
            "collectors.guardduty.finding_ages.urgent",
            "unknown field `urgent`"
        ),
        "{ps:#?}"
    );
    let ps = problems(&format!(
        "{GOOD}  guardduty:\n    finding_ages: {{low: 30s}}\n"
    ));
    assert!(
        has(&ps, "collectors.guardduty.finding_ages.low", "at least 1m"),
        "{ps:#?}"
    );
}

#[test]
fn guardduty_oldest_findings_default_to_the_paging_buckets_and_refuse_others() {
    let c = Config::from_yaml_str(include_str!("../../config.example.yaml")).unwrap();
    assert_eq!(
        c.collectors.guardduty.oldest_buckets(),
        [false, false, true, true]
    );
    let c = Config::from_yaml_str(&format!(
        "{GOOD}  guardduty:\n    oldest_findings: [medium]\n"
    ))
    .unwrap();
    assert_eq!(
        c.collectors.guardduty.oldest_buckets(),
        [false, true, false, false]
    );
    let c =
        Config::from_yaml_str(&format!("{GOOD}  guardduty:\n    oldest_findings: []\n")).unwrap();
    assert_eq!(c.collectors.guardduty.oldest_buckets(), [false; 4]);
    let ps = problems(&format!(
        "{GOOD}  guardduty:\n    oldest_findings: [high, urgent, high]\n"
    ));
    assert!(
        has(
            &ps,
            "collectors.guardduty.oldest_findings[1]",
            "`urgent` is not one of low, medium, high, critical"
        ),
        "{ps:#?}"
    );
    assert!(
        has(
            &ps,
            "collectors.guardduty.oldest_findings[2]",
            "`high` is listed twice"
        ),
        "{ps:#?}"
    );
    assert_eq!(ps.len(), 2, "{ps:#?}");
}

const EXCEPTIONS_OK: &str = r#"
targets:
  - name: org
    discover: organizations
    role_name: PostureExporterReadOnly
    regions: [eu-west-1]
exceptions:
  - name: sandbox-no-config
    account_id: "111111111111"
    region: eu-west-1
    signal: config_recorder
    owner: platform-team
    reason: sandbox account, Config off to save cost
    review: 2027-03-31
  - name: lab-ou-guardduty
    ou: ou-ab12-cdef3456
    signal: guardduty
    owner: security
    reason: lab accounts, covered by another tool
    review: "2027-01-15"
"#;

#[test]
fn exceptions_load_with_their_scope_and_review_date() {
    let c = Config::from_yaml_str(EXCEPTIONS_OK).unwrap();
    assert_eq!(c.exceptions.len(), 2);
    let e = &c.exceptions[0];
    assert_eq!(e.signal(), Some(Signal::ConfigRecorder));
    assert_eq!(e.review_epoch(), Some(1_806_451_200));
    assert_eq!(e.scope(), "account 111111111111, eu-west-1");
    assert_eq!(c.exceptions[1].scope(), "OU ou-ab12-cdef3456, all regions");
    // No `exceptions:` at all is none.
    assert!(Config::from_yaml_str(GOOD).unwrap().exceptions.is_empty());
}

#[test]
fn every_problem_of_every_exception_is_listed() {
    let ps = problems(
        r#"
targets:
  - name: management
    regions: [eu-west-1]
exceptions:
  - name: a
    account_id: "12345"
    region: moon-1
    signal: guard_duty
    review: 2027-02-30
  - name: a
    account_id: "111111111111"
    ou: ou-ab12-cdef3456
    signal: guardduty
    owner: " "
    reason: r
    review: 2027-01-01
  - name: b
    signal: security_hub
    owner: o
    reason: r
    review: 2027-01-01
  - name: c
    ou: ou-ab12-cdef3456
    signal: region_unwatched
    owner: o
    reason: r
    review: 2027-01-01
  - name: d
    account_id: 111111111111
    signal: guardduty
    review: 2027-01-01
  - name: e
    account: "111111111111"
    signal: guardduty
    review: 2027-01-01
  - name: f
    account_id: "111111111111"
    signal: guardduty_findings
    owner: o
    reason: r
    review: 31/12/2027
"#,
    );
    for (path, needle) in [
        (
            "exceptions[0].account_id",
            "`12345` is not a 12-digit account id",
        ),
        ("exceptions[0].region", "`moon-1` is not an AWS region name"),
        (
            "exceptions[0].signal",
            "unknown signal `guard_duty`, expected one of `config_recorder`",
        ),
        ("exceptions[0].owner", "missing: who owns this gap"),
        ("exceptions[0].reason", "missing: why this gap is accepted"),
        ("exceptions[0].review", "`2027-02-30` is not a date"),
        ("exceptions[1].name", "`a` is used by an earlier exception"),
        ("exceptions[1]", "gives both `account_id` and `ou`"),
        ("exceptions[1].owner", "missing"),
        ("exceptions[2]", "names no scope"),
        (
            "exceptions[3].ou",
            "known only from a `discover: organizations` target",
        ),
        (
            "exceptions[4].account_id",
            "invalid type: integer `111111111111`, expected a string",
        ),
        ("exceptions[5].account", "unknown field `account`"),
        (
            "exceptions[6].review",
            "`31/12/2027` is not a date written YYYY-MM-DD",
        ),
    ] {
        assert!(has(&ps, path, needle), "{path}: {needle}\n{ps:#?}");
    }
    assert_eq!(ps.len(), 14, "{ps:#?}");
}

#[test]
fn exceptions_must_be_a_list() {
    let ps = problems("targets: [{name: m, regions: [eu-west-1]}]\nexceptions: {name: x}\n");
    assert!(
        has(
            &ps,
            "exceptions",
            "expected a list of exceptions, found a mapping"
        ),
        "{ps:?}"
    );
}
