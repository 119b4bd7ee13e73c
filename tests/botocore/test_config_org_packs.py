"""Organization conformance packs (awsJson1_1): DescribeOrganizationConformancePacks,
DescribeOrganizationConformancePackStatuses and GetOrganizationConformancePackDetailedStatus,
read by botocore with their paginators and filters and compared with the exporter's
aws_config_org_conformance_pack_* series."""

import collections
import math

import pytest
from botocore.exceptions import ClientError

from conftest import MEMBER_STATUSES

TOLERANCE = 1e-3


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
def packs(cfg):
    items, pages = walk(cfg, "describe_organization_conformance_packs", "OrganizationConformancePacks", 3)
    assert pages == math.ceil(len(items) / 3) and len(items) == 4
    return items


def test_pack_statuses_every_page_match_the_exporter(cfg, packs, exported, management):
    statuses, pages = walk(
        cfg, "describe_organization_conformance_pack_statuses", "OrganizationConformancePackStatuses", 3
    )
    assert pages == 2
    assert [s["OrganizationConformancePackName"] for s in statuses] == [
        p["OrganizationConformancePackName"] for p in packs
    ]
    assert {s["Status"] for s in statuses} >= {"CREATE_FAILED", "UPDATE_FAILED", "CREATE_SUCCESSFUL"}
    for s in statuses:
        pack = s["OrganizationConformancePackName"]
        assert exported.state_set("aws_config_org_conformance_pack_status", pack=pack, deployed_by=management) == {
            s["Status"]: 1
        }, pack
        got = exported.get("aws_config_org_conformance_pack_last_update_timestamp_seconds", pack=pack, deployed_by=management)
        assert abs(s["LastUpdateTime"].timestamp() - got) <= TOLERANCE
    some = [s["OrganizationConformancePackName"] for s in statuses[:3]][::-1]
    sel = cfg.describe_organization_conformance_pack_statuses(OrganizationConformancePackNames=some)
    assert [s["OrganizationConformancePackName"] for s in sel["OrganizationConformancePackStatuses"]] == some


def test_pack_definitions_match_the_exporter(packs, accounts, exported, management):
    for p in packs:
        name = p["OrganizationConformancePackName"]
        assert p["OrganizationConformancePackArn"].startswith("arn:aws:config:us-east-1:")
        assert ":organization-conformance-pack/" in p["OrganizationConformancePackArn"]
        assert p["LastUpdateTime"].timestamp() > 0
        excluded = p.get("ExcludedAccounts", [])
        assert set(excluded) <= set(accounts)
        assert exported.get("aws_config_org_conformance_pack_excluded_accounts", pack=name, deployed_by=management) == len(excluded)


def test_member_statuses_every_page_match_the_exporter(cfg, packs, accounts, exported, management):
    failed = 0
    for p in packs:
        pack = p["OrganizationConformancePackName"]
        members, pages = walk(
            cfg,
            "get_organization_conformance_pack_detailed_status",
            "OrganizationConformancePackDetailedStatuses",
            2,
            OrganizationConformancePackName=pack,
        )
        deployed = set(accounts) - set(p.get("ExcludedAccounts", []))
        assert pages == math.ceil(len(deployed) / 2)
        assert sorted(m["AccountId"] for m in members) == sorted(deployed), pack
        counts = collections.Counter(m["Status"] for m in members)
        for s in MEMBER_STATUSES:
            assert exported.get("aws_config_org_conformance_pack_member_accounts", pack=pack, deployed_by=management, status=s) == counts.get(s, 0)
        for m in members:
            status = m["Status"]
            assert (m.get("ErrorCode") is not None) == status.endswith("_FAILED")
            failed += status.endswith("_FAILED")
            labels = dict(pack=pack, deployed_by=management, account_id=m["AccountId"], status=status, error_code=m.get("ErrorCode", ""))
            assert exported.get("aws_config_org_conformance_pack_member_status", **labels) == 1, labels
            t = exported.get(
                "aws_config_org_conformance_pack_member_last_update_timestamp_seconds", pack=pack, deployed_by=management, account_id=m["AccountId"]
            )
            assert abs(m["LastUpdateTime"].timestamp() - t) <= TOLERANCE
            assert m["ConformancePackName"].startswith(f"OrgConformsPack-{pack}-")
        assert len(exported.series("aws_config_org_conformance_pack_member_status", pack=pack, deployed_by=management)) == len(members)
    assert failed >= 2


def test_member_status_filters(cfg, packs, exported, management):
    pack = packs[0]["OrganizationConformancePackName"]
    for status in MEMBER_STATUSES:
        got, _ = walk(
            cfg,
            "get_organization_conformance_pack_detailed_status",
            "OrganizationConformancePackDetailedStatuses",
            1,
            OrganizationConformancePackName=pack,
            Filters={"Status": status},
        )
        assert all(m["Status"] == status for m in got)
        assert len(got) == exported.get("aws_config_org_conformance_pack_member_accounts", pack=pack, deployed_by=management, status=status)


def test_pack_errors(aws, cfg, packs, accounts):
    raw = aws.client("config", validate=False)
    pack = packs[0]["OrganizationConformancePackName"]
    for call, kw in (
        (raw.describe_organization_conformance_packs, {}),
        (raw.describe_organization_conformance_pack_statuses, {}),
        (raw.get_organization_conformance_pack_detailed_status, {"OrganizationConformancePackName": pack}),
    ):
        with pytest.raises(ClientError) as e:
            call(Limit=101, **kw)
        assert error(e) == ("InvalidLimitException", 400)
        with pytest.raises(ClientError) as e:
            call(NextToken="forged", **kw)
        assert error(e) == ("InvalidNextTokenException", 400)
    token = cfg.get_organization_conformance_pack_detailed_status(OrganizationConformancePackName=pack, Limit=1)[
        "NextToken"
    ]
    with pytest.raises(ClientError) as e:
        cfg.get_organization_conformance_pack_detailed_status(
            OrganizationConformancePackName=packs[1]["OrganizationConformancePackName"], NextToken=token
        )
    assert error(e) == ("InvalidNextTokenException", 400)
    for call in (cfg.describe_organization_conformance_packs, cfg.describe_organization_conformance_pack_statuses):
        with pytest.raises(ClientError) as e:
            call(OrganizationConformancePackNames=["no-such-pack"])
        assert error(e) == ("NoSuchOrganizationConformancePackException", 400)
    with pytest.raises(ClientError) as e:
        cfg.get_organization_conformance_pack_detailed_status(OrganizationConformancePackName="no-such-pack")
    assert error(e) == ("NoSuchOrganizationConformancePackException", 400)
    with pytest.raises(ClientError) as e:
        raw.get_organization_conformance_pack_detailed_status(
            OrganizationConformancePackName=pack, Filters={"Status": "BROKEN"}
        )
    assert error(e) == ("ValidationException", 400)
    member = aws.client("config", account=accounts[1])
    for call, kw in (
        (member.describe_organization_conformance_packs, {}),
        (member.describe_organization_conformance_pack_statuses, {}),
        (member.get_organization_conformance_pack_detailed_status, {"OrganizationConformancePackName": pack}),
    ):
        with pytest.raises(ClientError) as e:
            call(**kw)
        assert error(e) == ("OrganizationAccessDeniedException", 400)
