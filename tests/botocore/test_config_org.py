"""Organization Config rules and configuration aggregators (awsJson1_1):
DescribeOrganizationConfigRules, DescribeOrganizationConfigRuleStatuses,
GetOrganizationConfigRuleDetailedStatus, DescribeConfigurationAggregators and
DescribeConfigurationAggregatorSourcesStatus, read by botocore with their paginators and filters
and compared with the exporter's aws_config_org_rule_* and aws_config_aggregator* series."""

import collections
import math

import pytest
from botocore.exceptions import ClientError

from conftest import MEMBER_STATUSES, REGIONS

TOLERANCE = 1e-3
SOURCE_STATUSES = ["FAILED", "SUCCEEDED", "OUTDATED"]


def error(e):
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def walk(client, op, key, page_size=None, **kw):
    """Every item of a paginated listing, and the number of pages it took."""
    cfg = {"PageSize": page_size} if page_size else {}
    pages = list(client.get_paginator(op).paginate(PaginationConfig=cfg, **kw))
    return [x for p in pages for x in p[key]], len(pages)


@pytest.fixture(scope="module")
def cfg(aws):
    return aws.client("config")


@pytest.fixture(scope="module")
def rules(cfg):
    items, pages = walk(cfg, "describe_organization_config_rules", "OrganizationConfigRules", 5)
    assert pages == math.ceil(len(items) / 5)
    return items


def test_rule_statuses_every_page_match_the_exporter(cfg, rules, exported, management):
    statuses, pages = walk(
        cfg, "describe_organization_config_rule_statuses", "OrganizationConfigRuleStatuses", 5
    )
    assert pages == math.ceil(len(statuses) / 5) and len(statuses) == len(rules) == 12
    assert [s["OrganizationConfigRuleName"] for s in statuses] == [
        r["OrganizationConfigRuleName"] for r in rules
    ]
    assert {s["OrganizationRuleStatus"] for s in statuses} == set(MEMBER_STATUSES)
    for s in statuses:
        rule = s["OrganizationConfigRuleName"]
        # One series, the current status.
        assert exported.state_set("aws_config_org_rule_status", rule=rule, deployed_by=management) == {
            s["OrganizationRuleStatus"]: 1
        }, rule
        got = exported.get("aws_config_org_rule_last_update_timestamp_seconds", rule=rule, deployed_by=management)
        assert abs(s["LastUpdateTime"].timestamp() - got) <= TOLERANCE
    # Names select, in the order asked.
    some = [s["OrganizationConfigRuleName"] for s in statuses[:3]][::-1]
    sel = cfg.describe_organization_config_rule_statuses(OrganizationConfigRuleNames=some)
    assert [s["OrganizationConfigRuleName"] for s in sel["OrganizationConfigRuleStatuses"]] == some


def test_rule_definitions_match_the_exporter(cfg, rules, accounts, exported, management):
    excluding = 0
    for r in rules:
        name = r["OrganizationConfigRuleName"]
        assert r["OrganizationConfigRuleArn"].startswith("arn:aws:config:us-east-1:")
        assert r["OrganizationManagedRuleMetadata"]["RuleIdentifier"]
        excluded = r.get("ExcludedAccounts", [])
        assert set(excluded) <= set(accounts)
        excluding += bool(excluded)
        assert exported.get("aws_config_org_rule_excluded_accounts", rule=name, deployed_by=management) == len(excluded)
    assert excluding >= 1


def test_member_statuses_every_page_match_the_exporter(cfg, rules, accounts, exported, management):
    failed_members = 0
    for r in rules:
        rule = r["OrganizationConfigRuleName"]
        members, pages = walk(
            cfg,
            "get_organization_config_rule_detailed_status",
            "OrganizationConfigRuleDetailedStatus",
            10,
            OrganizationConfigRuleName=rule,
        )
        deployed = set(accounts) - set(r.get("ExcludedAccounts", []))
        assert pages == math.ceil(len(deployed) / 10)
        assert sorted(m["AccountId"] for m in members) == sorted(deployed), rule
        counts = collections.Counter(m["MemberAccountRuleStatus"] for m in members)
        for s in MEMBER_STATUSES:
            got = exported.get("aws_config_org_rule_member_accounts", rule=rule, deployed_by=management, status=s)
            assert got == counts.get(s, 0), (rule, s)
        # The exporter lists every member here (the suite's config names all nine statuses).
        for m in members:
            status = m["MemberAccountRuleStatus"]
            assert (m.get("ErrorCode") is not None) == status.endswith("_FAILED")
            failed_members += status.endswith("_FAILED")
            labels = dict(rule=rule, deployed_by=management, account_id=m["AccountId"], status=status, error_code=m.get("ErrorCode", ""))
            assert exported.get("aws_config_org_rule_member_status", **labels) == 1, labels
            t = exported.get(
                "aws_config_org_rule_member_last_update_timestamp_seconds", rule=rule, deployed_by=management, account_id=m["AccountId"]
            )
            assert abs(m["LastUpdateTime"].timestamp() - t) <= TOLERANCE
            assert m["ConfigRuleName"].startswith(f"OrgConfigRule-{rule}-")
        assert len(exported.series("aws_config_org_rule_member_status", rule=rule, deployed_by=management)) == len(members)
    assert failed_members >= 3


def test_member_status_filters(cfg, rules, accounts, exported, management):
    failed_rule = next(
        r["OrganizationConfigRuleName"]
        for r in rules
        if exported.get(
            "aws_config_org_rule_member_accounts", rule=r["OrganizationConfigRuleName"], deployed_by=management, status="CREATE_FAILED"
        )
    )
    for status in MEMBER_STATUSES:
        got, _ = walk(
            cfg,
            "get_organization_config_rule_detailed_status",
            "OrganizationConfigRuleDetailedStatus",
            2,
            OrganizationConfigRuleName=failed_rule,
            Filters={"MemberAccountRuleStatus": status},
        )
        assert all(m["MemberAccountRuleStatus"] == status for m in got)
        assert len(got) == exported.get("aws_config_org_rule_member_accounts", rule=failed_rule, deployed_by=management, status=status)
    for account in accounts[:4]:
        got = cfg.get_organization_config_rule_detailed_status(
            OrganizationConfigRuleName=failed_rule, Filters={"AccountId": account}
        )["OrganizationConfigRuleDetailedStatus"]
        assert [m["AccountId"] for m in got] == [account]
        shown = exported.series("aws_config_org_rule_member_status", rule=failed_rule, deployed_by=management, account_id=account)
        assert [l["status"] for l, _ in shown] == [got[0]["MemberAccountRuleStatus"]]


def test_org_rule_errors(aws, cfg, rules, accounts):
    raw = aws.client("config", validate=False)
    rule = rules[0]["OrganizationConfigRuleName"]
    for call, kw in (
        (raw.describe_organization_config_rules, {}),
        (raw.describe_organization_config_rule_statuses, {}),
        (raw.get_organization_config_rule_detailed_status, {"OrganizationConfigRuleName": rule}),
    ):
        with pytest.raises(ClientError) as e:
            call(Limit=101, **kw)
        assert error(e) == ("InvalidLimitException", 400)
        with pytest.raises(ClientError) as e:
            call(NextToken="forged", **kw)
        assert error(e) == ("InvalidNextTokenException", 400)
    # A token of one rule's listing is no good for another rule.
    token = cfg.get_organization_config_rule_detailed_status(OrganizationConfigRuleName=rule, Limit=1)["NextToken"]
    with pytest.raises(ClientError) as e:
        cfg.get_organization_config_rule_detailed_status(
            OrganizationConfigRuleName=rules[1]["OrganizationConfigRuleName"], NextToken=token
        )
    assert error(e) == ("InvalidNextTokenException", 400)
    for call in (cfg.describe_organization_config_rules, cfg.describe_organization_config_rule_statuses):
        with pytest.raises(ClientError) as e:
            call(OrganizationConfigRuleNames=["no-such-rule"])
        assert error(e) == ("NoSuchOrganizationConfigRuleException", 400)
    with pytest.raises(ClientError) as e:
        cfg.get_organization_config_rule_detailed_status(OrganizationConfigRuleName="no-such-rule")
    assert error(e) == ("NoSuchOrganizationConfigRuleException", 400)
    with pytest.raises(ClientError) as e:
        raw.get_organization_config_rule_detailed_status(
            OrganizationConfigRuleName=rule, Filters={"MemberAccountRuleStatus": "BROKEN"}
        )
    assert error(e) == ("ValidationException", 400)
    member = aws.client("config", account=accounts[1])
    for call, kw in (
        (member.describe_organization_config_rules, {}),
        (member.describe_organization_config_rule_statuses, {}),
        (member.get_organization_config_rule_detailed_status, {"OrganizationConfigRuleName": rule}),
    ):
        with pytest.raises(ClientError) as e:
            call(**kw)
        assert error(e) == ("OrganizationAccessDeniedException", 400)


def test_aggregators_and_sources_match_the_exporter(cfg, aws, exported, management):
    seen = set()
    for region in REGIONS:
        aggs, _ = walk(
            aws.client("config", region), "describe_configuration_aggregators", "ConfigurationAggregators", 1
        )
        assert exported.get("aws_config_aggregators", region=region) == len(aggs), region
        for a in aggs:
            name = a["ConfigurationAggregatorName"]
            assert a["ConfigurationAggregatorArn"].startswith(f"arn:aws:config:{region}:{management}:config-aggregator/")
            assert a["CreationTime"] <= a["LastUpdatedTime"]
            assert ("OrganizationAggregationSource" in a) != ("AccountAggregationSources" in a)
            sources, pages = walk(
                aws.client("config", region),
                "describe_configuration_aggregator_sources_status",
                "AggregatedSourceStatusList",
                5,
                ConfigurationAggregatorName=name,
            )
            assert pages == max(1, math.ceil(len(sources) / 5))
            # Every source counted by status; only those whose last update did not succeed listed.
            shown = exported.series("aws_config_aggregator_source_status", aggregator=name)
            assert len(shown) == sum(s["LastUpdateStatus"] != "SUCCEEDED" for s in sources), name
            counts = collections.Counter(s["LastUpdateStatus"] for s in sources)
            for status, n in counts.items():
                assert exported.get("aws_config_aggregator_sources", region=region, aggregator=name, status=status) == n
            for s in sources:
                labels = dict(
                    region=region,
                    aggregator=name,
                    source_id=s["SourceId"],
                    source_type=s["SourceType"],
                    source_region=s["AwsRegion"],
                )
                succeeded = s["LastUpdateStatus"] == "SUCCEEDED"
                assert exported.state_set("aws_config_aggregator_source_status", **labels) == (
                    {} if succeeded else {s["LastUpdateStatus"]: 1}
                ), labels
                got = exported.get("aws_config_aggregator_source_last_update_timestamp_seconds", **labels)
                if succeeded:
                    assert got is None, labels
                else:
                    assert abs(s["LastUpdateTime"].timestamp() - got) <= TOLERANCE
                errors = exported.series("aws_config_aggregator_source_last_error_info", **labels)
                if s["LastUpdateStatus"] == "FAILED":
                    assert [l["error_code"] for l, _ in errors] == [s["LastErrorCode"]], labels
                else:
                    assert not errors and "LastErrorCode" not in s
                seen.add((s["SourceType"], s["LastUpdateStatus"]))
            # The UpdateStatus filter, one status at a time, adds up to the whole.
            total = 0
            for st in SOURCE_STATUSES:
                got, _ = walk(
                    aws.client("config", region),
                    "describe_configuration_aggregator_sources_status",
                    "AggregatedSourceStatusList",
                    4,
                    ConfigurationAggregatorName=name,
                    UpdateStatus=[st],
                )
                assert all(s["LastUpdateStatus"] == st for s in got)
                total += len(got)
            assert total == len(sources)
    assert {t for t, _ in seen} == {"ACCOUNT", "ORGANIZATION"}
    assert {s for _, s in seen} == set(SOURCE_STATUSES)


def test_aggregator_errors(aws, cfg):
    raw = aws.client("config", validate=False)
    name = cfg.describe_configuration_aggregators()["ConfigurationAggregators"][0]["ConfigurationAggregatorName"]
    with pytest.raises(ClientError) as e:
        cfg.describe_configuration_aggregator_sources_status(ConfigurationAggregatorName="no-such-aggregator")
    assert error(e) == ("NoSuchConfigurationAggregatorException", 400)
    with pytest.raises(ClientError) as e:
        cfg.describe_configuration_aggregators(ConfigurationAggregatorNames=["no-such-aggregator"])
    assert error(e) == ("NoSuchConfigurationAggregatorException", 400)
    for call, kw in (
        (raw.describe_configuration_aggregators, {}),
        (raw.describe_configuration_aggregator_sources_status, {"ConfigurationAggregatorName": name}),
    ):
        with pytest.raises(ClientError) as e:
            call(Limit=101, **kw)
        assert error(e) == ("InvalidLimitException", 400)
        with pytest.raises(ClientError) as e:
            call(NextToken="forged", **kw)
        assert error(e) == ("InvalidNextTokenException", 400)
    with pytest.raises(ClientError) as e:
        raw.describe_configuration_aggregator_sources_status(ConfigurationAggregatorName=name, UpdateStatus=["BROKEN"])
    assert error(e) == ("ValidationException", 400)
