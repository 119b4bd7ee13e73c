"""GuardDuty (restJson1): ListDetectors, GetDetector, GetFindingsStatistics, ListMembers and
GetAdministratorAccount in every account and region, read by botocore with their paginators and
compared with the exporter's aws_guardduty_* series."""

import collections
import datetime

import pytest
from botocore.exceptions import ClientError

from conftest import REGIONS

SEVERITIES = ["low", "medium", "high", "critical"]
RELATIONSHIPS = [
    "Created",
    "Invited",
    "Disabled",
    "Enabled",
    "Removed",
    "Resigned",
    "EmailVerificationInProgress",
    "EmailVerificationFailed",
]
CURRENT = {"Criterion": {"service.archived": {"Equals": ["false"]}}}


def bucket(severity):
    """AWS's severity ranges: low 1.0-3.9, medium 4.0-6.9, high 7.0-8.9, critical 9.0-10.0."""
    if severity < 4.0:
        return "low"
    if severity < 7.0:
        return "medium"
    if severity < 9.0:
        return "high"
    return "critical"


def error(e):
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def iso(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_every_account_and_region_matches_the_exporter(aws, accounts, exported):
    cases = collections.Counter()
    for account in accounts:
        for region in REGIONS:
            gd = aws.client("guardduty", region, account)
            where = dict(account_id=account, region=region)
            pages = list(gd.get_paginator("list_detectors").paginate(PaginationConfig={"PageSize": 1}))
            ids = [d for p in pages for d in p["DetectorIds"]]
            assert len(pages) == max(1, len(ids))
            assert exported.get("aws_guardduty_detectors", **where) == len(ids), where
            cases["off" if not ids else "on"] += 1
            for d in ids:
                # Only aws_guardduty_detector_enabled names the detector (AWS allows one per
                # account and region); the families of its contents are keyed by both alone.
                l = where
                det = gd.get_detector(DetectorId=d)
                assert iso(det["CreatedAt"]) < iso(det["UpdatedAt"])
                assert det["ServiceRole"].startswith(f"arn:aws:iam::{account}:role/")
                assert exported.get("aws_guardduty_detector_enabled", **l, detector_id=d) == (det["Status"] == "ENABLED")
                cases[det["Status"]] += 1

                # Current findings by severity, as the exporter asks, bucketed as AWS names them.
                stats = gd.get_findings_statistics(
                    DetectorId=d, FindingCriteria=CURRENT, GroupBy="SEVERITY", OrderBy="DESC", MaxResults=100
                )["FindingStatistics"]["GroupedBySeverity"]
                totals = [s["TotalFindings"] for s in stats]
                assert totals == sorted(totals, reverse=True)
                buckets = collections.Counter()
                for s in stats:
                    assert isinstance(s["Severity"], float) and isinstance(s["LastGeneratedAt"], datetime.datetime)
                    buckets[bucket(s["Severity"])] += s["TotalFindings"]
                for b in SEVERITIES:
                    # A severity with no current findings has no series.
                    assert exported.get("aws_guardduty_findings", **l, severity=b) == (buckets[b] or None), (l, b)
                cases["clean" if not stats else "findings"] += 1
                # The deprecated COUNT_BY_SEVERITY form says the same.
                old = gd.get_findings_statistics(
                    DetectorId=d, FindingCriteria=CURRENT, FindingStatisticTypes=["COUNT_BY_SEVERITY"]
                )["FindingStatistics"]["CountBySeverity"]
                old_buckets = collections.Counter()
                for k, n in old.items():
                    old_buckets[bucket(float(k))] += n
                assert +old_buckets == +buckets

                members = [
                    m
                    for p in gd.get_paginator("list_members").paginate(
                        DetectorId=d, OnlyAssociated="false", PaginationConfig={"PageSize": 3}
                    )
                    for m in p["Members"]
                ]
                if members:
                    cases["administrator"] += 1
                    counts = collections.Counter(m["RelationshipStatus"] for m in members)
                    for s in RELATIONSHIPS:
                        got = exported.get("aws_guardduty_members", **l, relationship_status=s)
                        assert got == counts.get(s, 0), (l, s)
                    for m in members:
                        assert m["MasterId"] == m["AdministratorId"] == account
                        iso(m["UpdatedAt"])
                    associated = [
                        m for p in gd.get_paginator("list_members").paginate(DetectorId=d) for m in p["Members"]
                    ]
                    assert {m["AccountId"] for m in associated} == {
                        m["AccountId"] for m in members if m["RelationshipStatus"] == "Enabled"
                    }
                    by_account = gd.get_findings_statistics(
                        DetectorId=d, FindingCriteria=CURRENT, GroupBy="ACCOUNT", OrderBy="DESC", MaxResults=100
                    )["FindingStatistics"]["GroupedByAccount"]
                    shown = {
                        x["member_account_id"]: v for x, v in exported.series("aws_guardduty_findings_by_account", **l)
                    }
                    assert shown == {a["AccountId"]: a["TotalFindings"] for a in by_account}
                    assert sum(shown.values()) == sum(buckets.values())
                    assert not exported.series("aws_guardduty_administrator_relationship", **where)
                else:
                    assert not exported.series("aws_guardduty_members", **l)
                    admin = gd.get_administrator_account(DetectorId=d).get("Administrator")
                    shown = exported.series("aws_guardduty_administrator_relationship", **where)
                    if admin:
                        cases["member"] += 1
                        iso(admin["InvitedAt"])
                        assert [
                            (x["administrator_account_id"], x["relationship_status"], v) for x, v in shown
                        ] == [(admin["AccountId"], admin["RelationshipStatus"], 1)]
                    else:
                        assert not shown
    # Every case of the generated organization was met, so no comparison above was vacuous.
    for case in ("off", "on", "ENABLED", "DISABLED", "clean", "findings", "administrator", "member"):
        assert cases[case] >= 1, (case, cases)


def test_errors(aws, accounts):
    gd = aws.client("guardduty", "us-east-1", accounts[0])
    raw = aws.client("guardduty", "us-east-1", accounts[0], validate=False)
    d = gd.list_detectors()["DetectorIds"][0]
    other = aws.client("guardduty", "eu-west-1", accounts[0]).list_detectors()["DetectorIds"][0]
    calls = (
        lambda i: gd.get_detector(DetectorId=i),
        lambda i: gd.list_members(DetectorId=i),
        lambda i: gd.get_administrator_account(DetectorId=i),
        lambda i: gd.get_findings_statistics(DetectorId=i, GroupBy="SEVERITY"),
    )
    for call in calls:
        # A detector of another region, and one that never existed: not owned by the caller.
        for bad in (other, "0" * 32):
            with pytest.raises(ClientError) as e:
                call(bad)
            assert error(e) == ("BadRequestException", 400)
            assert isinstance(e.value, gd.exceptions.BadRequestException)
    for kw in ({"MaxResults": 51}, {"MaxResults": 0}, {"NextToken": "forged"}):
        with pytest.raises(ClientError) as e:
            raw.list_detectors(**kw)
        assert error(e) == ("BadRequestException", 400), kw
        with pytest.raises(ClientError) as e:
            raw.list_members(DetectorId=d, **kw)
        assert error(e) == ("BadRequestException", 400), kw
    for kw in (
        {},  # neither findingStatisticTypes nor groupBy
        {"FindingStatisticTypes": ["COUNT_BY_SEVERITY"], "GroupBy": "SEVERITY"},
        {"FindingStatisticTypes": ["COUNT_BY_SEVERITY"], "MaxResults": 5},
        {"GroupBy": "SEVERITY", "MaxResults": 101},
    ):
        with pytest.raises(ClientError) as e:
            raw.get_findings_statistics(DetectorId=d, **kw)
        assert error(e) == ("BadRequestException", 400), kw


BUCKET_RANGES = {
    "low": {"GreaterThanOrEqual": 0, "LessThan": 4},
    "medium": {"GreaterThanOrEqual": 4, "LessThan": 7},
    "high": {"GreaterThanOrEqual": 7, "LessThan": 9},
    "critical": {"GreaterThanOrEqual": 9},
}


def test_findings_list_sorted_and_get_matches_the_oldest_exported(aws, accounts, exported):
    """ListFindings (every page, the paginator) lists as many current findings as the statistics
    count; sorted by createdAt it starts with the oldest, whose GetFindings createdAt is the
    exporter's aws_guardduty_oldest_finding_created_timestamp_seconds for the buckets it reads
    (high and critical by default)."""
    cases = collections.Counter()
    for account in accounts:
        for region in REGIONS:
            gd = aws.client("guardduty", region, account)
            for d in gd.list_detectors()["DetectorIds"]:
                ids = [
                    i
                    for p in gd.get_paginator("list_findings").paginate(
                        DetectorId=d, FindingCriteria=CURRENT, PaginationConfig={"PageSize": 7}
                    )
                    for i in p["FindingIds"]
                ]
                stats = gd.get_findings_statistics(
                    DetectorId=d, FindingCriteria=CURRENT, GroupBy="SEVERITY", MaxResults=100
                )["FindingStatistics"]["GroupedBySeverity"]
                assert len(ids) == len(set(ids)) == sum(s["TotalFindings"] for s in stats), (account, region)
                for sev, rng in BUCKET_RANGES.items():
                    crit = {"Criterion": dict(CURRENT["Criterion"], severity=rng)}
                    page = gd.list_findings(
                        DetectorId=d,
                        FindingCriteria=crit,
                        SortCriteria={"AttributeName": "createdAt", "OrderBy": "ASC"},
                        MaxResults=50,
                    )["FindingIds"]
                    shown = exported.get(
                        "aws_guardduty_oldest_finding_created_timestamp_seconds",
                        account_id=account,
                        region=region,
                        severity=sev,
                    )
                    if not page:
                        assert shown is None, (account, region, sev)
                        continue
                    found = gd.get_findings(DetectorId=d, FindingIds=page)["Findings"]
                    assert [f["Id"] for f in found] == page
                    created = [iso(f["CreatedAt"]) for f in found]
                    assert created == sorted(created), (account, region, sev)
                    for f in found:
                        assert bucket(f["Severity"]) == sev
                        assert f["Service"]["Archived"] is False
                        assert f["Region"] == region and f["SchemaVersion"] == "2.0"
                        assert iso(f["CreatedAt"]) <= iso(f["UpdatedAt"])
                    if sev in ("high", "critical"):
                        cases["oldest"] += 1
                        assert shown == pytest.approx(created[0].timestamp(), abs=1e-3), (account, region, sev)
                    else:
                        assert shown is None, (account, region, sev)
                    # Descending starts with the newest.
                    newest = gd.list_findings(
                        DetectorId=d,
                        FindingCriteria=crit,
                        SortCriteria={"AttributeName": "createdAt", "OrderBy": "DESC"},
                        MaxResults=1,
                    )["FindingIds"]
                    last = gd.get_findings(DetectorId=d, FindingIds=newest)["Findings"][0]
                    assert iso(last["CreatedAt"]) == max(created) or len(page) == 50
    assert cases["oldest"] >= 1, cases


def test_findings_errors(aws, accounts):
    gd = aws.client("guardduty", "us-east-1", accounts[0])
    raw = aws.client("guardduty", "us-east-1", accounts[0], validate=False)
    d = gd.list_detectors()["DetectorIds"][0]
    for kw in ({"MaxResults": 51}, {"MaxResults": 0}, {"NextToken": "forged"}):
        with pytest.raises(ClientError) as e:
            raw.list_findings(DetectorId=d, **kw)
        assert error(e) == ("BadRequestException", 400), kw
    with pytest.raises(ClientError) as e:
        raw.get_findings(DetectorId=d, FindingIds=["0" * 32] * 51)
    assert error(e) == ("BadRequestException", 400)
    with pytest.raises(ClientError) as e:
        gd.list_findings(DetectorId="0" * 32)
    assert error(e) == ("BadRequestException", 400)
    # An id the detector does not report is left out, not an error.
    assert gd.get_findings(DetectorId=d, FindingIds=["f" * 32])["Findings"] == []
