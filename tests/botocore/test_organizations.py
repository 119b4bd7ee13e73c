"""Organizations (awsJson1_1): ListAccounts, ListRoots, ListOrganizationalUnitsForParent,
ListAccountsForParent and DescribeOrganization, read by botocore and compared with the
exporter's aws_account_info."""

import datetime
import math
import re

import pytest
from botocore.exceptions import ClientError

from conftest import MEMBERS


def error(e):
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_describe_organization(aws, management, accounts):
    org = aws.client("organizations").describe_organization()["Organization"]
    # Any account of the organization may describe it.
    assert aws.client("organizations", account=accounts[-1]).describe_organization()["Organization"] == org
    assert re.fullmatch(r"o-[a-z0-9]{10,32}", org["Id"])
    assert org["FeatureSet"] == "ALL"
    assert org["MasterAccountId"] == management
    assert org["Arn"] == f"arn:aws:organizations::{management}:organization/{org['Id']}"
    assert org["MasterAccountArn"].endswith(f"/{org['Id']}/{management}")


def test_list_accounts_every_page_matches_the_exported_accounts(aws, exported, management):
    orgs = aws.client("organizations")
    for page_size, pages_expected in ((None, 2), (7, math.ceil((MEMBERS + 1) / 7))):
        kw = {"PaginationConfig": {"PageSize": page_size}} if page_size else {}
        pages = list(orgs.get_paginator("list_accounts").paginate(**kw))
        assert len(pages) == pages_expected
        accounts = [a for p in pages for a in p["Accounts"]]
        assert len(accounts) == MEMBERS + 1
        assert len({a["Id"] for a in accounts}) == MEMBERS + 1
    assert accounts[0]["Id"] == management
    for a in accounts:
        assert re.fullmatch(r"\d{12}", a["Id"])
        assert a["Status"] == a["State"] == "ACTIVE"
        assert isinstance(a["JoinedTimestamp"], datetime.datetime)
        assert a["JoinedTimestamp"].tzinfo is not None
        assert a["JoinedMethod"] in ("CREATED", "INVITED")
    listed = {(a["Id"], a["Name"], a["Status"]) for a in accounts}
    shown = {
        (l["account_id"], l["account_name"], l["status"])
        for l, v in exported.series("aws_account_info")
        if v == 1
    }
    assert shown == listed


def test_the_tree_of_roots_and_units_holds_every_account_once(aws, accounts):
    orgs = aws.client("organizations")
    roots = [r for p in orgs.get_paginator("list_roots").paginate() for r in p["Roots"]]
    assert len(roots) == 1 and re.fullmatch(r"r-[0-9a-z]{4,32}", roots[0]["Id"])
    assert roots[0]["PolicyTypes"][0] == {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}
    parents, units, placed = [roots[0]["Id"]], [], []
    while parents:
        parent = parents.pop()
        for p in orgs.get_paginator("list_organizational_units_for_parent").paginate(
            ParentId=parent, PaginationConfig={"PageSize": 1}
        ):
            for ou in p["OrganizationalUnits"]:
                assert re.fullmatch(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}", ou["Id"])
                units.append(ou["Name"])
                parents.append(ou["Id"])
        for p in orgs.get_paginator("list_accounts_for_parent").paginate(
            ParentId=parent, PaginationConfig={"PageSize": 3}
        ):
            placed += [a["Id"] for a in p["Accounts"]]
    assert sorted(units) == ["Dev", "Prod", "Sandbox", "Security", "Workloads"]
    assert sorted(placed) == sorted(accounts)


def test_errors(aws, accounts):
    raw = aws.client("organizations", validate=False)
    with pytest.raises(ClientError) as e:
        raw.list_accounts(MaxResults=21)
    assert error(e) == ("InvalidInputException", 400)
    assert e.value.response["Reason"] == "MAX_VALUE_EXCEEDED"
    with pytest.raises(ClientError) as e:
        raw.list_accounts(NextToken="forged-token")
    assert error(e) == ("InvalidInputException", 400)
    assert e.value.response["Reason"] == "INVALID_NEXT_TOKEN"
    # A token of one listing is refused by another.
    token = raw.list_accounts(MaxResults=1)["NextToken"]
    root = raw.list_roots()["Roots"][0]["Id"]
    with pytest.raises(ClientError) as e:
        raw.list_accounts_for_parent(ParentId=root, NextToken=token)
    assert error(e) == ("InvalidInputException", 400)
    with pytest.raises(ClientError) as e:
        raw.list_organizational_units_for_parent(ParentId="ou-zzzz-zzzzzzzz")
    assert error(e) == ("ParentNotFoundException", 400)
    member = aws.client("organizations", account=accounts[1])
    with pytest.raises(ClientError) as e:
        member.list_accounts()
    assert error(e) == ("AccessDeniedException", 400)
