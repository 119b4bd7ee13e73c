"""GuardDuty as its administrator sees the organization (restJson1): ListMembers,
GetMemberDetectors, GetFindingsStatistics grouped by account with severity and accountId
criteria, DescribeOrganizationConfiguration, GetOrganizationStatistics and
GetCoverageStatistics, read by botocore as the management account (the simulated organization's
GuardDuty administrator in us-east-1), with the limits and error cases the service model states,
and compared with what the exporter's accounts mode reads from each member itself."""

import time

import pytest
from botocore.exceptions import ClientError

BUCKETS = [("low", None, 4), ("medium", 4, 7), ("high", 7, 9), ("critical", 9, None)]


def error(e):
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def admin(aws):
    gd = aws.client("guardduty", "us-east-1")
    det = gd.list_detectors()["DetectorIds"][0]
    members = [
        m
        for p in gd.get_paginator("list_members").paginate(DetectorId=det, OnlyAssociated="false")
        for m in p["Members"]
    ]
    return gd, det, members


def test_member_detectors_answer_enabled_members_and_list_the_rest_unprocessed(admin, accounts, exported):
    gd, det, members = admin
    enabled = [m["AccountId"] for m in members if m["RelationshipStatus"] == "Enabled" and m.get("DetectorId")]
    other = [m["AccountId"] for m in members if m["AccountId"] not in enabled]
    assert enabled and other
    out = gd.get_member_detectors(DetectorId=det, AccountIds=enabled + other[:1])
    got = {m["AccountId"]: m for m in out["MemberDataSourceConfigurations"]}
    assert sorted(got) == sorted(enabled)
    assert [u["AccountId"] for u in out["UnprocessedAccounts"]] == other[:1]
    assert out["UnprocessedAccounts"][0]["Result"]
    for account, m in got.items():
        # The deprecated dataSources is still required by the model; features carry the plans.
        assert m["DataSources"]["CloudTrail"]["Status"] in ("ENABLED", "DISABLED")
        names = {f["Name"] for f in m["Features"]}
        assert {"S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION", "RUNTIME_MONITORING"} <= names
        runtime = next(f for f in m["Features"] if f["Name"] == "RUNTIME_MONITORING")
        assert {a["Name"] for a in runtime["AdditionalConfiguration"]} >= {"EKS_ADDON_MANAGEMENT", "EC2_AGENT_MANAGEMENT"}
        # OrgFeature names only: the foundational sources are in the deprecated dataSources.
        assert not names & {"CLOUD_TRAIL", "DNS_LOGS", "FLOW_LOGS"}
        # The same plans the member's own GetDetector reports, as the accounts mode exported them.
        # Each setting under the plan AWS lists it under (EKS_ADDON_MANAGEMENT may be under the
        # legacy and the unified runtime plan at once, with different statuses).
        for f in m["Features"]:
            for name, status in [(f["Name"], f["Status"])] + [
                (a["Name"], a["Status"]) for a in f.get("AdditionalConfiguration", [])
            ]:
                where = dict(account_id=account, region="us-east-1", plan=f["Name"], feature=name)
                # Only a plan that is not ENABLED has a series, and a setting only under a plan
                # that is ENABLED (a plan that is off says so in its own series).
                off_plan = name != f["Name"] and f["Status"] != "ENABLED"
                want = None if status == "ENABLED" or off_plan else 1
                assert exported.get("aws_guardduty_feature_status", **where, status=status) == want, where


def test_member_detectors_take_at_most_50_accounts(admin):
    gd, det, _ = admin
    with pytest.raises(ClientError) as e:
        gd.get_member_detectors(DetectorId=det, AccountIds=[f"{100000000000 + i}" for i in range(51)])
    assert error(e) == ("BadRequestException", 400)


def test_findings_by_account_per_severity_bucket_match_each_members_own(admin, exported):
    gd, det, members = admin
    enabled = {m["AccountId"]: m["DetectorId"] for m in members if m["RelationshipStatus"] == "Enabled" and m.get("DetectorId")}
    seen = 0
    for name, gte, lt in BUCKETS:
        severity = {}
        if gte is not None:
            severity["GreaterThanOrEqual"] = gte
        if lt is not None:
            severity["LessThan"] = lt
        out = gd.get_findings_statistics(
            DetectorId=det,
            GroupBy="ACCOUNT",
            OrderBy="DESC",
            MaxResults=100,
            FindingCriteria={
                "Criterion": {
                    "service.archived": {"Equals": ["false"]},
                    "severity": severity,
                    "accountId": {"Equals": list(enabled)},
                }
            },
        )
        groups = {g["AccountId"]: g["TotalFindings"] for g in out["FindingStatistics"]["GroupedByAccount"]}
        assert set(groups) <= set(enabled)
        for account in enabled:
            want = exported.get("aws_guardduty_findings", account_id=account, region="us-east-1", severity=name)
            assert (groups.get(account, 0) or None) == want, (account, name)
            seen += groups.get(account, 0)
    assert seen > 0


def test_organization_configuration_and_statistics(admin, aws, accounts):
    gd, det, members = admin
    conf = gd.describe_organization_configuration(DetectorId=det, MaxResults=50)
    assert conf["MemberAccountLimitReached"] is False
    assert conf["AutoEnableOrganizationMembers"] in ("NEW", "ALL", "NONE")
    auto = {f["Name"]: f["AutoEnable"] for f in conf["Features"]}
    assert auto["EBS_MALWARE_PROTECTION"] == "ALL" and auto["RDS_LOGIN_EVENTS"] == "NONE"
    with pytest.raises(ClientError) as e:
        gd.describe_organization_configuration(DetectorId=det, MaxResults=51)
    assert error(e) == ("BadRequestException", 400)

    stats = gd.get_organization_statistics()["OrganizationDetails"]["OrganizationStatistics"]
    assert stats["TotalAccountsCount"] == len(accounts)
    assert stats["MemberAccountsCount"] == len(members)
    enabled = [m for m in members if m["RelationshipStatus"] == "Enabled" and m.get("DetectorId")]
    assert stats["EnabledAccountsCount"] == len(enabled) + 1
    by = {f["Name"]: f["EnabledAccountsCount"] for f in stats["CountByFeature"]}
    assert 0 < by["EBS_MALWARE_PROTECTION"] < stats["EnabledAccountsCount"], "drift: not every account has it"

    # Not the administrator in eu-west-1: the organization-wide calls are refused.
    eu = aws.client("guardduty", "eu-west-1")
    eu_det = eu.list_detectors()["DetectorIds"][0]
    with pytest.raises(ClientError) as e:
        eu.describe_organization_configuration(DetectorId=eu_det)
    assert error(e) == ("BadRequestException", 400)


def test_coverage_statistics_cross_resource_type_and_status(admin):
    gd, det, _ = admin
    total = gd.get_coverage_statistics(
        DetectorId=det, StatisticsType=["COUNT_BY_RESOURCE_TYPE", "COUNT_BY_COVERAGE_STATUS"]
    )["CoverageStatistics"]
    by_status = total["CountByCoverageStatus"]
    assert by_status.get("UNHEALTHY", 0) >= 1 and by_status["HEALTHY"] >= 1
    summed = 0
    for status in ("HEALTHY", "UNHEALTHY"):
        part = gd.get_coverage_statistics(
            DetectorId=det,
            StatisticsType=["COUNT_BY_RESOURCE_TYPE"],
            FilterCriteria={"FilterCriterion": [{"CriterionKey": "COVERAGE_STATUS", "FilterCondition": {"Equals": [status]}}]},
        )["CoverageStatistics"]["CountByResourceType"]
        assert set(part) <= {"EC2", "EKS", "ECS"}
        assert sum(part.values()) == by_status.get(status, 0)
        summed += sum(part.values())
    assert summed == sum(total["CountByResourceType"].values())
    with pytest.raises(ClientError) as e:
        gd.get_coverage_statistics(DetectorId=det, StatisticsType=[])
    assert error(e) == ("BadRequestException", 400)


# The exporter's default remediation ages per bucket, in milliseconds.
AGES_MS = {"low": 30 * 86_400_000, "medium": 7 * 86_400_000, "high": 86_400_000, "critical": 86_400_000}


def _bucket(name, gte, lt, **more):
    severity = {}
    if gte is not None:
        severity["GreaterThanOrEqual"] = gte
    if lt is not None:
        severity["LessThan"] = lt
    crit = {"service.archived": {"Equals": ["false"]}, "severity": severity}
    crit.update(more)
    return {"Criterion": crit}


def test_findings_created_before_each_buckets_age_match_the_exported_overdue_counts(admin, exported):
    """createdAt in epoch milliseconds (the model: "Type: Timestamp in Unix Epoch millisecond
    format"), LessThan a Long: per account, the findings older than the bucket's age are what
    the exporter's accounts mode counts in each member as overdue."""
    gd, det, members = admin
    enabled = {m["AccountId"] for m in members if m["RelationshipStatus"] == "Enabled" and m.get("DetectorId")}
    now_ms = int(time.time() * 1000)
    seen = 0
    for name, gte, lt in BUCKETS:
        cutoff = now_ms - AGES_MS[name]
        out = gd.get_findings_statistics(
            DetectorId=det,
            GroupBy="ACCOUNT",
            MaxResults=100,
            FindingCriteria=_bucket(name, gte, lt, createdAt={"LessThan": cutoff}),
        )
        groups = {g["AccountId"]: g["TotalFindings"] for g in out["FindingStatistics"]["GroupedByAccount"]}
        for account in enabled:
            want = exported.get("aws_guardduty_findings_overdue", account_id=account, region="us-east-1", severity=name)
            assert (groups.get(account, 0) or None) == want, (account, name)
            seen += groups.get(account, 0)
    assert seen > 0, "some finding is past its age"


def test_created_at_bounds_split_the_findings_without_loss(admin):
    """Every finding is either created before a time or at or after it: LessThan and
    GreaterThanOrEqual on createdAt partition a bucket, in both groupings."""
    gd, det, _ = admin
    cutoff = int(time.time() * 1000) - 5 * 86_400_000
    for group, key, field in [("ACCOUNT", "GroupedByAccount", "AccountId"), ("SEVERITY", "GroupedBySeverity", "Severity")]:
        def counts(**created):
            crit = _bucket("high", 7, 9, **({"createdAt": created} if created else {}))
            out = gd.get_findings_statistics(DetectorId=det, GroupBy=group, MaxResults=100, FindingCriteria=crit)
            return sum(g["TotalFindings"] for g in out["FindingStatistics"][key])
        older, newer, every = counts(LessThan=cutoff), counts(GreaterThanOrEqual=cutoff), counts()
        assert older > 0 and newer > 0, (group, older, newer)
        assert older + newer == every, group
