"""GuardDuty's slower lists (restJson1): ListThreatIntelSets / GetThreatIntelSet, ListIPSets /
GetIPSet, ListFilters / GetFilter, GetInvitationsCount and ListInvitations in every account and
region, read by botocore with their paginators and compared with the exporter's series; the
detector's findingPublishingFrequency with aws_guardduty_finding_publishing_frequency."""

import collections
import datetime

import pytest
from botocore.exceptions import ClientError

from conftest import REGIONS

SET_STATUSES = ["INACTIVE", "ACTIVATING", "ACTIVE", "DEACTIVATING", "ERROR", "DELETE_PENDING", "DELETED"]
FREQUENCIES = ["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"]


def error(e):
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def can_hide_high(criterion):
    """The exporter's judgement, written again from the model: can a finding of severity 7 to 10
    pass this filter's severity condition?"""
    c = criterion.get("severity")
    if c is None:
        return True
    lo, lo_in, hi, hi_in = 7.0, True, 10.0, True
    for k in ("Gt", "GreaterThan"):
        if k in c and c[k] >= lo:
            lo, lo_in = float(c[k]), False
    for k in ("Gte", "GreaterThanOrEqual"):
        if k in c and c[k] > lo:
            lo, lo_in = float(c[k]), True
    for k in ("Lt", "LessThan"):
        if k in c and c[k] <= hi:
            hi, hi_in = float(c[k]), False
    for k in ("Lte", "LessThanOrEqual"):
        if k in c and c[k] < hi:
            hi, hi_in = float(c[k]), True
    if lo > hi or (lo == hi and not (lo_in and hi_in)):
        return False
    values = c.get("Eq", []) + c.get("Equals", [])
    if values:
        return any(
            (float(v) > lo or (float(v) == lo and lo_in)) and (float(v) < hi or (float(v) == hi and hi_in))
            for v in values
        )
    return True


def test_sets_filters_and_frequency_of_every_detector_match_the_exporter(aws, accounts, exported):
    cases = collections.Counter()
    for account in accounts:
        for region in REGIONS:
            gd = aws.client("guardduty", region, account)
            for d in gd.list_detectors()["DetectorIds"]:
                l = dict(account_id=account, region=region)
                freq = gd.get_detector(DetectorId=d)["FindingPublishingFrequency"]
                assert freq in FREQUENCIES
                cases[freq] += 1
                for f in FREQUENCIES:
                    want = 1 if f == freq else None
                    assert exported.get("aws_guardduty_finding_publishing_frequency", **l, frequency=f) == want

                # A member of an associated administrator lists the administrator's sets (the
                # model's ListIPSets/ListThreatIntelSets documentation): the exporter reads and
                # exports them at the administrator only.
                admin = gd.get_administrator_account(DetectorId=d).get("Administrator") or {}
                managed = admin.get("RelationshipStatus") == "Enabled"
                if managed:
                    cases["member sees its administrator's sets"] += 1
                for kind, lister, key, getter, arg, family in (
                    ("threat", "list_threat_intel_sets", "ThreatIntelSetIds", "get_threat_intel_set", "ThreatIntelSetId", "aws_guardduty_threat_intel_set_status"),
                    ("ip", "list_ip_sets", "IpSetIds", "get_ip_set", "IpSetId", "aws_guardduty_ip_set_status"),
                ):
                    pages = list(gd.get_paginator(lister).paginate(DetectorId=d, PaginationConfig={"PageSize": 1}))
                    ids = [i for p in pages for i in p[key]]
                    assert len(pages) == max(1, len(ids))
                    if managed:
                        assert exported.series(family, **l) == [], (l, family)
                        for i in ids:
                            s = getattr(gd, getter)(DetectorId=d, **{arg: i})
                            assert s["ExpectedBucketOwner"] == admin["AccountId"]
                        continue
                    assert len(exported.series(family, **l)) == len(ids), "one series a set"
                    for i in ids:
                        s = getattr(gd, getter)(DetectorId=d, **{arg: i})
                        assert s["Location"].startswith("https://") and s["Format"]
                        assert s["ExpectedBucketOwner"] == account
                        got = {x["status"]: v for x, v in exported.series(family, **l, set_id=i, set_name=s["Name"])}
                        assert got == {s["Status"]: 1}, (l, i)
                        cases[f"{kind} {s['Status']}"] += 1

                names = [n for p in gd.get_paginator("list_filters").paginate(DetectorId=d, PaginationConfig={"PageSize": 1}) for n in p["FilterNames"]]
                archiving = 0
                for rank, n in enumerate(names, 1):
                    f = gd.get_filter(DetectorId=d, FilterName=n)
                    assert f["Name"] == n and f["Rank"] == rank and f["Version"] >= 1
                    assert isinstance(f["CreatedAt"], datetime.datetime) and f["CreatedAt"] < f["UpdatedAt"]
                    shown = exported.get("aws_guardduty_archive_filter_can_hide_high", **l, filter=n)
                    if f["Action"] == "ARCHIVE":
                        archiving += 1
                        hide = can_hide_high(f["FindingCriteria"]["Criterion"])
                        assert shown == (1 if hide else None), (l, n, f["FindingCriteria"])
                        cases["hides high" if hide else "keeps high"] += 1
                    else:
                        assert f["Action"] == "NOOP" and shown is None
                        cases["saved filter"] += 1
                assert exported.get("aws_guardduty_archive_filters", **l) == archiving
                cases["no suppression rule" if not archiving else "suppression rules"] += 1
    for st in SET_STATUSES:
        assert cases[f"threat {st}"] >= 1 and cases[f"ip {st}"] >= 1, (st, cases)
    for case in FREQUENCIES + ["hides high", "keeps high", "saved filter", "no suppression rule", "member sees its administrator's sets"]:
        assert cases[case] >= 1, (case, cases)


def test_invitations_of_every_account_match_the_exporter(aws, accounts, exported):
    seen = 0
    for account in accounts:
        for region in REGIONS:
            gd = aws.client("guardduty", region, account)
            count = gd.get_invitations_count()["InvitationsCount"]
            invitations = [
                i for p in gd.get_paginator("list_invitations").paginate(PaginationConfig={"PageSize": 1}) for i in p["Invitations"]
            ]
            assert count == len(invitations)
            where = dict(account_id=account, region=region)
            assert exported.get("aws_guardduty_pending_invitations", **where) == (count or None)
            oldest = exported.get("aws_guardduty_pending_invitation_oldest_timestamp_seconds", **where)
            if not invitations:
                assert oldest is None
                continue
            seen += 1
            times = [datetime.datetime.fromisoformat(i["InvitedAt"].replace("Z", "+00:00")).timestamp() for i in invitations]
            assert oldest == min(times)
            for i in invitations:
                assert len(i["AccountId"]) == 12 and i["InvitationId"] and i["RelationshipStatus"] == "Invited"
    assert seen >= 2


def test_errors(aws, accounts):
    gd = aws.client("guardduty", "us-east-1", accounts[0])
    raw = aws.client("guardduty", "us-east-1", accounts[0], validate=False)
    d = gd.list_detectors()["DetectorIds"][0]
    other = aws.client("guardduty", "eu-west-1", accounts[0]).list_detectors()["DetectorIds"][0]
    for bad in (other, "0" * 32):
        for call in (
            lambda: gd.list_threat_intel_sets(DetectorId=bad),
            lambda: gd.list_ip_sets(DetectorId=bad),
            lambda: gd.list_filters(DetectorId=bad),
        ):
            with pytest.raises(ClientError) as e:
                call()
            assert error(e) == ("BadRequestException", 400)
    for call in (
        lambda: gd.get_threat_intel_set(DetectorId=d, ThreatIntelSetId="f" * 32),
        lambda: gd.get_ip_set(DetectorId=d, IpSetId="f" * 32),
        lambda: gd.get_filter(DetectorId=d, FilterName="no-such-filter"),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error(e) == ("BadRequestException", 400)
        assert isinstance(e.value, gd.exceptions.BadRequestException)
    for kw in ({"MaxResults": 51}, {"MaxResults": 0}, {"NextToken": "forged"}):
        for call in (
            lambda: raw.list_threat_intel_sets(DetectorId=d, **kw),
            lambda: raw.list_ip_sets(DetectorId=d, **kw),
            lambda: raw.list_filters(DetectorId=d, **kw),
            lambda: raw.list_invitations(**kw),
        ):
            with pytest.raises(ClientError) as e:
                call()
            assert error(e) == ("BadRequestException", 400), kw
