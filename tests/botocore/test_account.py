"""Account Management (restJson1): ListRegions, read by botocore as the management account for
itself and for each member, and compared with what the exporter exports for a target that says
`regions: enabled`."""

import pytest
from botocore.exceptions import ClientError

from conftest import BINARY, MGMT_KEY, REGIONS, ROLE
from exposition import collect_once

STATUSES = {"ENABLED", "ENABLING", "DISABLING", "DISABLED", "ENABLED_BY_DEFAULT"}


def error(e):
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def regions_of(acct, account=None, page_size=None):
    kw = {"AccountId": account} if account else {}
    if page_size:
        kw["PaginationConfig"] = {"PageSize": page_size}
    pages = list(acct.get_paginator("list_regions").paginate(**kw))
    return pages, [(r["RegionName"], r["RegionOptStatus"]) for p in pages for r in p["Regions"]]


def test_every_account_lists_the_served_regions_by_default_and_some_opted_in(aws, accounts):
    acct = aws.client("account")
    opted, enabling = 0, 0
    for member in accounts[1:]:
        pages, regions = regions_of(acct, member)
        assert {s for _, s in regions} <= STATUSES, regions
        names = [n for n, _ in regions]
        assert len(names) == len(set(names)), regions
        default = [n for n, s in regions if s == "ENABLED_BY_DEFAULT"]
        assert sorted(default) == sorted(REGIONS), regions
        opted += sum(1 for _, s in regions if s == "ENABLED")
        enabling += sum(1 for _, s in regions if s == "ENABLING")
        # Pages of one walk to the same list.
        pages1, one_by_one = regions_of(acct, member, page_size=1)
        assert one_by_one == regions and len(pages1) == len(regions)
    # The organization differs: some members opted into a region, one is still opting in.
    assert opted > 0 and enabling > 0, (opted, enabling)


def test_the_management_account_reads_its_own_regions_without_account_id(aws, management):
    acct = aws.client("account")
    _, own = regions_of(acct)
    assert sorted(n for n, s in own if s == "ENABLED_BY_DEFAULT") == sorted(REGIONS)
    # "The management account can't specify its own AccountId."
    with pytest.raises(ClientError) as e:
        acct.list_regions(AccountId=management)
    assert error(e) == ("ValidationException", 400)
    assert e.value.response["Error"].get("Message")


def test_the_status_filter_returns_only_that_status(aws, accounts):
    acct = aws.client("account")
    for member in accounts[1:]:
        _, every = regions_of(acct, member)
        enabled = [
            (r["RegionName"], r["RegionOptStatus"])
            for p in acct.get_paginator("list_regions").paginate(
                AccountId=member, RegionOptStatusContains=["ENABLED"]
            )
            for r in p["Regions"]
        ]
        assert enabled == [(n, s) for n, s in every if s == "ENABLED"]


def test_limits_and_callers_are_refused_as_aws_refuses_them(aws, accounts):
    raw = aws.client("account", validate=False)
    # MaxResults: "1 to 50" in the model.
    for bad in (0, 51):
        with pytest.raises(ClientError) as e:
            raw.list_regions(AccountId=accounts[1], MaxResults=bad)
        assert error(e) == ("ValidationException", 400), bad
    # A member may read its own regions, not another account's.
    member = aws.client("account", account=accounts[1])
    _, own = regions_of(member)
    _, seen_by_management = regions_of(aws.client("account"), accounts[1])
    assert own == seen_by_management
    with pytest.raises(ClientError) as e:
        member.list_regions(AccountId=accounts[2])
    assert error(e) == ("AccessDeniedException", 403)
    # An account outside the organization.
    with pytest.raises(ClientError) as e:
        aws.client("account").list_regions(AccountId="999999999999")
    assert error(e) == ("AccessDeniedException", 403)


def test_the_exporter_reads_every_enabled_region_and_exports_what_aws_says(
    aws, sim, accounts, tmp_path
):
    """`regions: enabled`: the regions exported per account are ListRegions' answers, and the
    per-account collector reads each enabled region, opted-in ones included."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"""
aws:
  region: us-east-1
  endpoint_url: "{sim.url}"
  max_attempts: 2
targets:
  - name: org
    discover: organizations
    role_name: {ROLE}
    regions: enabled
collectors:
  config_recorder: {{interval: 5m}}
  config_org_rules: {{enabled: false}}
  config_org_conformance_packs: {{enabled: false}}
  config_aggregators: {{enabled: false}}
  config_compliance: {{enabled: false}}
  guardduty: {{enabled: false}}
  iam_access_report: {{enabled: false}}
"""
    )
    code, exp, _, stderr = collect_once(
        BINARY, cfg, {"AWS_ACCESS_KEY_ID": MGMT_KEY, "AWS_SECRET_ACCESS_KEY": "verify-secret"}
    )
    assert code == 0, stderr[-4000:]
    acct = aws.client("account")
    want_enabled, want_opt_in, want_read = {}, set(), set()
    for i, a in enumerate(accounts):
        _, regions = regions_of(acct, a if i else None)
        readable = [n for n, s in regions if s in ("ENABLED", "ENABLED_BY_DEFAULT")]
        want_enabled[a] = len(readable)
        want_opt_in |= {(a, n, s) for n, s in regions if s not in ("ENABLED_BY_DEFAULT", "DISABLED")}
        want_read |= {(a, n) for n in readable}
    got_enabled = {l["account_id"]: v for l, v in exp.series("aws_account_regions_enabled")}
    assert got_enabled == want_enabled
    got_opt_in = {(l["account_id"], l["region"], l["status"]) for l, _ in exp.series("aws_account_region_opt_in")}
    assert got_opt_in == want_opt_in
    read = {(l["account_id"], l["region"]) for l, _ in exp.series("aws_config_recorders")}
    assert read == want_read
    # The recorder reads every enabled region: nothing is unwatched.
    assert list(exp.series("aws_account_region_unwatched")) == []
