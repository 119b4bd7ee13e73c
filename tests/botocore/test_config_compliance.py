"""Config rule and conformance pack compliance (awsJson1_1), read by botocore with its
paginators: DescribeAggregateComplianceByConfigRules and
DescribeAggregateComplianceByConformancePacks from the organization aggregator,
DescribeComplianceByConfigRule, DescribeConformancePacks, GetConformancePackComplianceSummary and
DescribeConformancePackCompliance in member accounts; compared with the exporter's
aws_config_rule* and aws_config_conformance_pack* series (the exporter's session reads the
fan-out, so the two sources are compared here too)."""

import collections

import pytest
from botocore.exceptions import ClientError

from conftest import REGIONS

AGGREGATOR = "organization-aggregator"
TYPES = ["COMPLIANT", "NON_COMPLIANT", "INSUFFICIENT_DATA"]


def error(e):
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def walk(client, op, key, page_size=None, **kw):
    cfg = {"PageSize": page_size} if page_size else {}
    pages = list(client.get_paginator(op).paginate(PaginationConfig=cfg, **kw))
    return [x for p in pages for x in p[key]], len(pages)


@pytest.fixture(scope="module")
def cfg(aws):
    return aws.client("config")


@pytest.fixture(scope="module")
def aggregate_rules(cfg):
    items, pages = walk(
        cfg,
        "describe_aggregate_compliance_by_config_rules",
        "AggregateComplianceByConfigRules",
        70,
        ConfigurationAggregatorName=AGGREGATOR,
    )
    assert pages == -(-len(items) // 70)
    return items


def test_aggregate_rules_every_page_match_the_exporter(aggregate_rules, accounts, exported):
    assert len(aggregate_rules) == len(accounts) * len(REGIONS) * 6
    counts = collections.Counter()
    capped = 0
    for r in aggregate_rules:
        a, g, rule = r["AccountId"], r["AwsRegion"], r["ConfigRuleName"]
        c = r["Compliance"]
        t = c["ComplianceType"]
        counts[(a, g, t)] += 1
        n = exported.get("aws_config_rule_noncompliant_resources", account_id=a, region=g, rule=rule)
        if t == "NON_COMPLIANT":
            cc = c["ComplianceContributorCount"]
            assert 0 < cc["CappedCount"] <= 100
            assert cc["CapExceeded"] == (cc["CappedCount"] == 100 and cc["CapExceeded"])
            assert n == cc["CappedCount"], (a, g, rule)
            flag = exported.get(
                "aws_config_rule_noncompliant_resources_capped", account_id=a, region=g, rule=rule
            )
            assert flag == (1 if cc["CapExceeded"] else None)
            capped += cc["CapExceeded"]
            # Not repeated rule by rule: detail_compliance lists nothing by default.
            assert exported.get(
                "aws_config_rule_compliance", account_id=a, region=g, rule=rule, compliance=t
            ) is None
        else:
            assert "ComplianceContributorCount" not in c
            assert n is None
    assert capped > 0
    for a in accounts:
        for g in REGIONS:
            for t in TYPES:
                n = counts[(a, g, t)]
                shown = n if n or t == "NON_COMPLIANT" else None
                assert exported.get(
                    "aws_config_rules_by_compliance", account_id=a, region=g, compliance=t
                ) == shown, (a, g, t)


def test_aggregate_rule_filters_and_limits(cfg, aggregate_rules):
    nc = cfg.describe_aggregate_compliance_by_config_rules(
        ConfigurationAggregatorName=AGGREGATOR,
        Filters={"ComplianceType": "NON_COMPLIANT", "AwsRegion": "eu-west-1"},
        Limit=1000,
    )["AggregateComplianceByConfigRules"]
    want = [
        r
        for r in aggregate_rules
        if r["Compliance"]["ComplianceType"] == "NON_COMPLIANT" and r["AwsRegion"] == "eu-west-1"
    ]
    assert nc == want
    # One result narrowed to its rule, account and region, whatever its compliance: how the
    # exporter looks up a result that stopped being NON_COMPLIANT.
    for r in [aggregate_rules[0], want[-1]]:
        one = cfg.describe_aggregate_compliance_by_config_rules(
            ConfigurationAggregatorName=AGGREGATOR,
            Filters={
                "ConfigRuleName": r["ConfigRuleName"],
                "AccountId": r["AccountId"],
                "AwsRegion": r["AwsRegion"],
            },
        )["AggregateComplianceByConfigRules"]
        assert one == [r]
    with pytest.raises(ClientError) as e:
        cfg.describe_aggregate_compliance_by_config_rules(
            ConfigurationAggregatorName=AGGREGATOR, Limit=1001
        )
    assert error(e) == ("InvalidLimitException", 400)
    with pytest.raises(ClientError) as e:
        cfg.describe_aggregate_compliance_by_config_rules(ConfigurationAggregatorName="nope")
    assert error(e) == ("NoSuchConfigurationAggregatorException", 400)


def test_aggregate_packs_every_page_match_the_exporter(cfg, accounts, exported):
    items, pages = walk(
        cfg,
        "describe_aggregate_compliance_by_conformance_packs",
        "AggregateComplianceByConformancePacks",
        40,
        ConfigurationAggregatorName=AGGREGATOR,
    )
    assert len(items) == len(accounts) * len(REGIONS) * 3 and pages == -(-len(items) // 40)
    seen = set()
    for p in items:
        a, g, pack, c = p["AccountId"], p["AwsRegion"], p["ConformancePackName"], p["Compliance"]
        seen.add(c["ComplianceType"])
        assert c["TotalRuleCount"] >= c["CompliantRuleCount"] + c["NonCompliantRuleCount"]
        assert (c["ComplianceType"] == "NON_COMPLIANT") == (c["NonCompliantRuleCount"] > 0)
        assert exported.get(
            "aws_config_conformance_pack_noncompliant_rules", account_id=a, region=g, pack=pack
        ) == (c["NonCompliantRuleCount"] or None)
    assert {"COMPLIANT", "NON_COMPLIANT"} <= seen
    # The listings read between two full ones, and a lookup of one pack.
    for t in ["NON_COMPLIANT", "INSUFFICIENT_DATA"]:
        got, _ = walk(
            cfg,
            "describe_aggregate_compliance_by_conformance_packs",
            "AggregateComplianceByConformancePacks",
            100,
            ConfigurationAggregatorName=AGGREGATOR,
            Filters={"ComplianceType": t},
        )
        assert got == [p for p in items if p["Compliance"]["ComplianceType"] == t], t
    p = items[-1]
    one = cfg.describe_aggregate_compliance_by_conformance_packs(
        ConfigurationAggregatorName=AGGREGATOR,
        Filters={
            "ConformancePackName": p["ConformancePackName"],
            "AccountId": p["AccountId"],
            "AwsRegion": p["AwsRegion"],
        },
    )["AggregateComplianceByConformancePacks"]
    assert one == [p]
    with pytest.raises(ClientError) as e:
        cfg.describe_aggregate_compliance_by_conformance_packs(
            ConfigurationAggregatorName=AGGREGATOR, Limit=101
        )
    assert error(e) == ("InvalidLimitException", 400)


def test_member_operations_every_page_agree_with_the_aggregator(aws, accounts, aggregate_rules):
    member = accounts[1]
    for region in REGIONS:
        c = aws.client("config", region=region, account=member)
        rules, _ = walk(c, "describe_compliance_by_config_rule", "ComplianceByConfigRules")
        want = {
            r["ConfigRuleName"]: r["Compliance"]
            for r in aggregate_rules
            if r["AccountId"] == member and r["AwsRegion"] == region
        }
        assert {r["ConfigRuleName"]: r["Compliance"] for r in rules} == want
        only_nc = c.describe_compliance_by_config_rule(ComplianceTypes=["NON_COMPLIANT"])
        assert {r["ConfigRuleName"] for r in only_nc["ComplianceByConfigRules"]} == {
            k for k, v in want.items() if v["ComplianceType"] == "NON_COMPLIANT"
        }
        with pytest.raises(ClientError) as e:
            c.describe_compliance_by_config_rule(ConfigRuleNames=["no-such-rule"])
        assert error(e) == ("NoSuchConfigRuleException", 400)

        packs, pages = walk(c, "describe_conformance_packs", "ConformancePackDetails", 2)
        names = [p["ConformancePackName"] for p in packs]
        assert len(names) == 3 and pages == 2
        assert all(p["ConformancePackArn"].endswith(p["ConformancePackId"]) for p in packs)
        summary, _ = walk(
            c,
            "get_conformance_pack_compliance_summary",
            "ConformancePackComplianceSummaryList",
            2,
            ConformancePackNames=names,
        )
        assert [s["ConformancePackName"] for s in summary] == names
        for s in summary:
            failing, _ = walk(
                c,
                "describe_conformance_pack_compliance",
                "ConformancePackRuleComplianceList",
                1,
                ConformancePackName=s["ConformancePackName"],
                Filters={"ComplianceType": "NON_COMPLIANT"},
            )
            assert (s["ConformancePackComplianceStatus"] == "NON_COMPLIANT") == bool(failing)
        with pytest.raises(ClientError) as e:
            c.get_conformance_pack_compliance_summary(ConformancePackNames=["no-such-pack"])
        assert error(e) == ("NoSuchConformancePackException", 400)
        with pytest.raises(ClientError) as e:
            c.describe_conformance_packs(Limit=21)
        assert error(e) == ("InvalidLimitException", 400)


def test_pack_compliance_scores_every_page_sorted_filtered_and_limited(aws, accounts):
    """ListConformancePackComplianceScores (no paginator in botocore: NextToken walked by
    hand): every pack once, a percentage string below 100 exactly for the NON_COMPLIANT packs
    (some rule-resource combination fails), 100 or INSUFFICIENT_DATA for the others; sorted by
    name (DESCENDING reverses it) or by SCORE; Filters and Limit as the model bounds them."""
    member = accounts[1]
    for region in REGIONS:
        c = aws.client("config", region=region, account=member)
        scores, token, pages = [], None, 0
        while True:
            out = c.list_conformance_pack_compliance_scores(Limit=2, **({"NextToken": token} if token else {}))
            scores += out["ConformancePackComplianceScores"]
            pages += 1
            token = out.get("NextToken")
            if not token:
                break
        names = [s["ConformancePackName"] for s in scores]
        assert len(names) == 3 and pages == 2 and names == sorted(names)
        summary = {
            s["ConformancePackName"]: s["ConformancePackComplianceStatus"]
            for s in c.get_conformance_pack_compliance_summary(ConformancePackNames=names)[
                "ConformancePackComplianceSummaryList"
            ]
        }
        for s in scores:
            score = s["Score"]
            if score == "INSUFFICIENT_DATA":
                assert summary[s["ConformancePackName"]] != "NON_COMPLIANT"
                continue
            v = float(score)
            assert 0 <= v <= 100
            assert (v < 100) == (summary[s["ConformancePackName"]] == "NON_COMPLIANT"), s
        desc = c.list_conformance_pack_compliance_scores(SortOrder="DESCENDING")["ConformancePackComplianceScores"]
        assert [s["ConformancePackName"] for s in desc] == names[::-1]
        by_score = c.list_conformance_pack_compliance_scores(SortBy="SCORE")["ConformancePackComplianceScores"]
        numeric = [float(s["Score"]) for s in by_score if s["Score"] != "INSUFFICIENT_DATA"]
        assert numeric == sorted(numeric)
        assert all(s["Score"] == "INSUFFICIENT_DATA" for s in by_score[len(numeric):])
        one = c.list_conformance_pack_compliance_scores(Filters={"ConformancePackNames": names[1:2]})
        assert [s["ConformancePackName"] for s in one["ConformancePackComplianceScores"]] == names[1:2]
        with pytest.raises(ClientError) as e:
            c.list_conformance_pack_compliance_scores(Limit=21)
        assert error(e)[1] == 400
        with pytest.raises(ClientError) as e:
            c.list_conformance_pack_compliance_scores(Filters={"ConformancePackNames": [f"p{i}" for i in range(26)]})
        assert error(e)[1] == 400
