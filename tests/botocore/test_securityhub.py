"""Security Hub (restJson1, signing name `securityhub`), both generations, read by botocore:
Security Hub CSPM's DescribeHub, GetEnabledStandards, ListMembers,
DescribeOrganizationConfiguration, ListOrganizationAdminAccounts, GetFindings (ASFF),
ListConfigurationPolicyAssociations, ListFindingAggregators, GetFindingAggregator and
BatchGetSecurityControls, and the
OCSF generation's DescribeSecurityHubV2 and GetFindingStatisticsV2, with the paginators, limits
and errors the service model states; and the OCSF statistics compared with the ASFF findings
GetFindings pages through for the same filters."""

import collections

import pytest
from botocore.exceptions import ClientError

from conftest import REGIONS

HOME = REGIONS[0]
STANDARD_STATUSES = {"PENDING", "READY", "FAILED", "DELETING", "INCOMPLETE"}
# The model's Member.MemberStatus documentation.
MEMBER_STATUSES = {"Created", "Invited", "Enabled", "Removed", "Resigned", "Deleted", "AccountSuspended"}
# ASFF workflow status -> OCSF status, as the simulator maps them.
OCSF_STATUS = {"NEW": "New", "NOTIFIED": "In Progress", "SUPPRESSED": "Suppressed", "RESOLVED": "Resolved"}
OCSF_SEVERITY = {"INFORMATIONAL": "Informational", "LOW": "Low", "MEDIUM": "Medium", "HIGH": "High", "CRITICAL": "Critical"}


def error(e):
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def eq(value):
    return {"Value": value, "Comparison": "EQUALS"}


def ocsf(field, value, comparison="EQUALS"):
    return {"FieldName": field, "Filter": {"Value": value, "Comparison": comparison}}


@pytest.fixture(scope="module")
def admin(aws, accounts):
    sh = aws.client("securityhub", HOME)
    out = sh.list_organization_admin_accounts()
    assert out["Feature"] == "SecurityHub"
    assert [a["Status"] for a in out["AdminAccounts"]] == ["ENABLED"]
    admin = out["AdminAccounts"][0]["AccountId"]
    assert admin == accounts[1]
    return admin


def findings(sh, filters=None, page=100):
    args = {"PaginationConfig": {"PageSize": page}}
    if filters:
        args["Filters"] = filters
    pages = list(sh.get_paginator("get_findings").paginate(**args))
    out = [f for p in pages for f in p["Findings"]]
    assert all(len(p["Findings"]) <= page for p in pages)
    assert len({f["Id"] for f in out}) == len(out), "a finding twice across pages"
    return out


def stats(sh, field, filters=None, **kw):
    rule = {"GroupByField": field}
    if filters:
        rule["Filters"] = filters
    out = sh.get_finding_statistics_v2(GroupByRules=[rule], MaxStatisticResults=400, **kw)
    (result,) = out["GroupByResults"]
    assert result["GroupByField"] == field
    return {v["FieldValue"]: v["Count"] for v in result["GroupByValues"]}


def test_admin_accounts_from_the_management_account_only(aws, admin, accounts):
    sh = aws.client("securityhub", HOME)
    v2 = sh.list_organization_admin_accounts(Feature="SecurityHubV2")
    assert v2["Feature"] == "SecurityHubV2" and v2["AdminAccounts"][0]["AccountId"] == admin
    pages = list(sh.get_paginator("list_organization_admin_accounts").paginate(PaginationConfig={"PageSize": 10}))
    assert [a["AccountId"] for p in pages for a in p["AdminAccounts"]] == [admin]
    raw = aws.client("securityhub", HOME, validate=False)
    with pytest.raises(ClientError) as e:
        raw.list_organization_admin_accounts(MaxResults=11)  # AdminsMaxResults: 1-10
    assert error(e) == ("InvalidInputException", 400)
    with pytest.raises(ClientError) as e:
        aws.client("securityhub", HOME, accounts[2]).list_organization_admin_accounts()
    assert error(e) == ("InvalidAccessException", 401)


def test_describe_hub_in_every_account_and_region(aws, accounts, admin):
    seen = collections.Counter()
    for account in accounts:
        for region in REGIONS:
            sh = aws.client("securityhub", region, account)
            try:
                hub = sh.describe_hub()
            except ClientError as e:
                assert (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]) == (
                    "InvalidAccessException",
                    401,
                )
                assert account not in (admin, accounts[0])
                seen["off"] += 1
                with pytest.raises(ClientError) as e2:
                    sh.describe_security_hub_v2()
                assert error(e2) == ("ResourceNotFoundException", 404)
                with pytest.raises(ClientError) as e3:
                    sh.get_findings()
                assert error(e3) == ("InvalidAccessException", 401)
                continue
            seen["on"] += 1
            assert hub["HubArn"] == f"arn:aws:securityhub:{region}:{account}:hub/default"
            assert hub["ControlFindingGenerator"] in ("STANDARD_CONTROL", "SECURITY_CONTROL")
            assert sh.describe_hub(HubArn=hub["HubArn"])["HubArn"] == hub["HubArn"]
            v2 = sh.describe_security_hub_v2()
            assert v2["HubV2Arn"].startswith(f"arn:aws:securityhub:{region}:{account}:hubv2/")
    assert seen["off"] >= 2 and seen["on"] > seen["off"], seen
    with pytest.raises(ClientError) as e:
        aws.client("securityhub", HOME, admin).describe_hub(HubArn="arn:aws:securityhub:us-east-1:000000000000:hub/default")
    assert error(e) == ("ResourceNotFoundException", 404)


def test_enabled_standards_walk_every_page_and_status(aws, accounts):
    statuses, reasons, bare = collections.Counter(), set(), 0
    for account in accounts:
        for region in REGIONS:
            sh = aws.client("securityhub", region, account)
            try:
                pages = list(sh.get_paginator("get_enabled_standards").paginate(PaginationConfig={"PageSize": 1}))
            except ClientError as e:
                assert e.response["Error"]["Code"] == "InvalidAccessException"
                continue
            subs = [s for p in pages for s in p["StandardsSubscriptions"]]
            assert len(pages) == max(1, len(subs))
            bare += not subs
            for s in subs:
                assert s["StandardsStatus"] in STANDARD_STATUSES
                statuses[s["StandardsStatus"]] += 1
                assert s["StandardsSubscriptionArn"].startswith(f"arn:aws:securityhub:{region}:{account}:subscription/")
                assert s["StandardsArn"].startswith(f"arn:aws:securityhub:{region}::standards/")
                assert s["Provider"] == "AWS"
                if s["StandardsStatus"] in ("FAILED", "INCOMPLETE"):
                    reasons.add(s["StandardsStatusReason"]["StatusReasonCode"])
                else:
                    assert "StandardsStatusReason" not in s
            if subs:
                one = sh.get_enabled_standards(StandardsSubscriptionArns=[subs[-1]["StandardsSubscriptionArn"]])
                assert one["StandardsSubscriptions"] == [subs[-1]]
    assert set(statuses) == STANDARD_STATUSES, statuses
    assert reasons == {"NO_AVAILABLE_CONFIGURATION_RECORDER", "INTERNAL_ERROR"}
    assert bare >= 2, "accounts enabled without standards"
    sh = aws.client("securityhub", HOME, accounts[1])
    with pytest.raises(ClientError) as e:
        sh.get_enabled_standards(NextToken="forged")
    assert error(e) == ("InvalidInputException", 400)
    raw = aws.client("securityhub", HOME, accounts[1], validate=False)
    with pytest.raises(ClientError) as e:
        raw.get_enabled_standards(MaxResults=101)
    assert error(e) == ("InvalidInputException", 400)


def test_security_controls_by_id_and_arn(aws, accounts, admin):
    """BatchGetSecurityControls: "details about a batch of security controls for the current
    Amazon Web Services account and Amazon Web Services Region"; ids or ARNs, mixed; a control
    that does not exist is in UnprocessedIds as RESOURCE_NOT_FOUND (NOT_FOUND is deprecated)."""
    sh = aws.client("securityhub", HOME, admin)
    arn = f"arn:aws:securityhub:{HOME}:{admin}:security-control/S3.1"
    out = sh.batch_get_security_controls(SecurityControlIds=["IAM.6", arn, "Nope.99"])
    got = {c["SecurityControlId"]: c for c in out["SecurityControls"]}
    assert set(got) == {"IAM.6", "S3.1"}
    assert got["IAM.6"]["Title"] == "Hardware MFA should be enabled for the root user"
    assert got["S3.1"]["SecurityControlArn"] == arn
    for c in got.values():
        assert c["SeverityRating"] in ("LOW", "MEDIUM", "HIGH", "CRITICAL")
        assert c["SecurityControlStatus"] in ("ENABLED", "DISABLED")
        assert c["Description"] and c["RemediationUrl"].startswith("https://")
    assert [(u["SecurityControlId"], u["ErrorCode"]) for u in out["UnprocessedIds"]] == [
        ("Nope.99", "RESOURCE_NOT_FOUND")
    ]
    # Nothing unprocessed: the member is left out.
    assert "UnprocessedIds" not in sh.batch_get_security_controls(SecurityControlIds=["EC2.2"])
    raw = aws.client("securityhub", HOME, admin, validate=False)
    with pytest.raises(ClientError) as e:
        raw.batch_get_security_controls()  # SecurityControlIds is required
    assert error(e) == ("InvalidInputException", 400)
    # Where Security Hub is off: refused as every Security Hub CSPM call there is.
    for account in accounts:
        for region in REGIONS:
            c = aws.client("securityhub", region, account)
            try:
                c.describe_hub()
            except ClientError:
                with pytest.raises(ClientError) as e:
                    c.batch_get_security_controls(SecurityControlIds=["IAM.6"])
                assert error(e) == ("InvalidAccessException", 401)
                return
    pytest.fail("no account-region with Security Hub off")


def test_members_of_the_administrator(aws, accounts, admin):
    sh = aws.client("securityhub", HOME, admin)
    pages = list(sh.get_paginator("list_members").paginate(OnlyAssociated=False, PaginationConfig={"PageSize": 7}))
    everyone = [m for p in pages for m in p["Members"]]
    assert len(pages) == -(-len(everyone) // 7)
    assert sorted(m["AccountId"] for m in everyone) == sorted(a for a in accounts if a != admin)
    assert {m["MemberStatus"] for m in everyone} == MEMBER_STATUSES
    for m in everyone:
        assert m["AdministratorId"] == admin == m["MasterId"]
        assert ("InvitedAt" in m) == (m["MemberStatus"] != "Created")
    # "The default value is TRUE": Enabled members only.
    default = [m for p in sh.get_paginator("list_members").paginate() for m in p["Members"]]
    assert default == [m for m in everyone if m["MemberStatus"] == "Enabled"]
    assert aws.client("securityhub", HOME).list_members()["Members"] == []
    with pytest.raises(ClientError) as e:
        sh.list_members(NextToken="0.0000000000000000")
    assert error(e) == ("InvalidInputException", 400)
    with pytest.raises(ClientError) as e:
        aws.client("securityhub", HOME, admin, validate=False).list_members(MaxResults=51)
    assert error(e) == ("InvalidInputException", 400)


def test_organization_configuration(aws, accounts, admin):
    for region in REGIONS:
        conf = aws.client("securityhub", region, admin).describe_organization_configuration()
        assert conf["OrganizationConfiguration"] == {"ConfigurationType": "CENTRAL", "Status": "ENABLED"}
        # Under central configuration these are false and NONE.
        assert conf["AutoEnable"] is False and conf["AutoEnableStandards"] == "NONE"
    with pytest.raises(ClientError) as e:
        aws.client("securityhub", HOME, accounts[2]).describe_organization_configuration()
    assert error(e) == ("InvalidAccessException", 401)


def test_configuration_policy_associations(aws, accounts, admin):
    sh = aws.client("securityhub", HOME, admin)
    pages = list(
        sh.get_paginator("list_configuration_policy_associations").paginate(PaginationConfig={"PageSize": 5})
    )
    assoc = [a for p in pages for a in p["ConfigurationPolicyAssociationSummaries"]]
    assert len(pages) == -(-len(assoc) // 5)
    kinds = collections.Counter(a["TargetType"] for a in assoc)
    assert kinds["ROOT"] == 1 and kinds["ORGANIZATIONAL_UNIT"] >= 1 and kinds["ACCOUNT"] == len(accounts) - 1
    failed = [a for a in assoc if a["AssociationStatus"] == "FAILED"]
    assert len(failed) == 1 and failed[0]["TargetId"] == accounts[3] and failed[0]["AssociationStatusMessage"]
    assert all("AssociationStatusMessage" not in a for a in assoc if a["AssociationStatus"] != "FAILED")
    assert {a["AssociationStatus"] for a in assoc} == {"SUCCESS", "PENDING", "FAILED"}
    only = sh.list_configuration_policy_associations(Filters={"AssociationStatus": "FAILED"})
    assert only["ConfigurationPolicyAssociationSummaries"] == failed
    applied = sh.list_configuration_policy_associations(Filters={"AssociationType": "APPLIED"})
    assert {a["TargetType"] for a in applied["ConfigurationPolicyAssociationSummaries"]} == {"ROOT", "ORGANIZATIONAL_UNIT"}
    pid = failed[0]["ConfigurationPolicyId"]
    by_policy = [
        a
        for p in sh.get_paginator("list_configuration_policy_associations").paginate(Filters={"ConfigurationPolicyId": pid})
        for a in p["ConfigurationPolicyAssociationSummaries"]
    ]
    assert by_policy == [a for a in assoc if a["ConfigurationPolicyId"] == pid]
    # "Only the Security Hub CSPM delegated administrator can invoke this operation from the home Region."
    for region, account in [(REGIONS[1], admin), (HOME, accounts[2])]:
        with pytest.raises(ClientError) as e:
            aws.client("securityhub", region, account).list_configuration_policy_associations()
        assert error(e) == ("AccessDeniedException", 403)


def test_finding_aggregator(aws, accounts, admin):
    for region in REGIONS:
        sh = aws.client("securityhub", region, admin)
        pages = list(sh.get_paginator("list_finding_aggregators").paginate())
        (agg,) = [a for p in pages for a in p["FindingAggregators"]]
        got = sh.get_finding_aggregator(FindingAggregatorArn=agg["FindingAggregatorArn"])
        assert got["FindingAggregationRegion"] == HOME and got["RegionLinkingMode"] == "ALL_REGIONS"
    member = aws.client("securityhub", HOME, accounts[2])
    assert member.list_finding_aggregators()["FindingAggregators"] == []
    with pytest.raises(ClientError) as e:
        member.get_finding_aggregator(FindingAggregatorArn=agg["FindingAggregatorArn"])
    assert error(e) == ("ResourceNotFoundException", 404)


def test_findings_of_a_member_and_the_administrator(aws, accounts, admin):
    member = accounts[5]  # standards READY and FAILED in eu-west-1
    own = findings(aws.client("securityhub", REGIONS[1], member), page=17)
    assert own and {f["AwsAccountId"] for f in own} == {member} and {f["Region"] for f in own} == {REGIONS[1]}
    assert {f["ProductName"] for f in own} >= {"GuardDuty", "Inspector", "Config", "Security Hub CSPM"}
    assert {f["Severity"]["Label"] for f in own} == set(OCSF_SEVERITY)
    for f in own:
        if f["ProductName"] == "Security Hub CSPM":
            c = f["Compliance"]
            assert c["Status"] in ("PASSED", "WARNING", "FAILED", "NOT_AVAILABLE") and c["SecurityControlId"]
            assert c["AssociatedStandards"]
            if c["Status"] == "PASSED":
                assert f["Workflow"]["Status"] == "RESOLVED"
    members = {m["AccountId"]: m["MemberStatus"] for p in aws.client("securityhub", HOME, admin).get_paginator("list_members").paginate(OnlyAssociated=False) for m in p["Members"]}
    # Outside the home region the administrator sees its own and its Enabled members' findings there.
    eu = findings(aws.client("securityhub", REGIONS[1], admin))
    seen = {f["AwsAccountId"] for f in eu}
    assert admin in seen and member in seen and {f["Region"] for f in eu} == {REGIONS[1]}
    assert all(members.get(a) == "Enabled" for a in seen - {admin})
    assert [f for f in eu if f["AwsAccountId"] == member] == own
    # In the home region, the aggregator adds the linked regions (member 5 has Security Hub on in both).
    home = findings(
        aws.client("securityhub", HOME, admin),
        {"AwsAccountId": [eq(accounts[5])], "SeverityLabel": [eq("CRITICAL"), eq("HIGH")]},
    )
    assert {f["Region"] for f in home} == set(REGIONS)
    assert {f["Severity"]["Label"] for f in home} == {"CRITICAL", "HIGH"}
    with pytest.raises(ClientError) as e:
        aws.client("securityhub", HOME, admin).get_findings(NextToken="1.deadbeefdeadbeef")
    assert error(e) == ("InvalidInputException", 400)
    with pytest.raises(ClientError) as e:
        aws.client("securityhub", HOME, admin, validate=False).get_findings(MaxResults=101)
    assert error(e) == ("InvalidInputException", 400)
    with pytest.raises(ClientError) as e:
        aws.client("securityhub", HOME, admin).get_findings(Filters={"Id": [eq("x")]})
    assert error(e) == ("InvalidInputException", 400)


def active_failed(sh):
    return findings(
        sh,
        {
            "ComplianceStatus": [eq("FAILED")],
            "RecordState": [eq("ACTIVE")],
            "WorkflowStatus": [eq("NEW"), eq("NOTIFIED")],
        },
    )


def test_statistics_count_what_get_findings_pages_through(aws, accounts, admin):
    for account in (accounts[2], accounts[5], admin):
        sh = aws.client("securityhub", REGIONS[1], account)
        asff = findings(sh, {"RecordState": [eq("ACTIVE")], "WorkflowStatus": [eq("NEW"), eq("NOTIFIED")]})
        if account == admin:
            # The administrator's statistics cover the organization; compare account by account.
            asff_accounts = {f["AwsAccountId"] for f in asff}
        else:
            asff_accounts = {account}
        current = {
            "CompositeOperator": "AND",
            "CompositeFilters": [
                {"Operator": "OR", "StringFilters": [ocsf("status", "New"), ocsf("status", "In Progress")]}
            ],
        }
        by_severity = collections.Counter(OCSF_SEVERITY[f["Severity"]["Label"]] for f in asff)
        by_account = collections.Counter(f["AwsAccountId"] for f in asff)
        by_product = collections.Counter(f["ProductName"] for f in asff)
        got_accounts = stats(sh, "cloud.account.uid", current)
        assert {a: got_accounts.get(a, 0) for a in asff_accounts} == {a: by_account[a] for a in asff_accounts}
        if account != admin:
            assert stats(sh, "severity", current) == dict(by_severity)
            assert stats(sh, "metadata.product.name", current) == dict(by_product)
            assert stats(sh, "cloud.region", current) == {REGIONS[1]: len(asff)}
            # Control failures, suppressed and resolved ones left out.
            failed = collections.Counter(f["Compliance"]["SecurityControlId"] for f in active_failed(sh))
            fail = {"CompositeFilters": [
                {"StringFilters": [ocsf("compliance.status", "Fail")]},
                {"Operator": "OR", "StringFilters": [ocsf("status", "New"), ocsf("status", "In Progress")]},
            ]}
            assert stats(sh, "compliance.control", fail) == dict(failed)
            everything = findings(sh)
            assert sum(stats(sh, "status").values()) == len(everything)
            assert stats(sh, "status") == dict(collections.Counter(OCSF_STATUS[f["Workflow"]["Status"]] for f in everything))


def test_the_widespread_control_and_the_failure_rate(aws, accounts, admin):
    sh = aws.client("securityhub", HOME, admin)
    fail = {"CompositeFilters": [{"StringFilters": [ocsf("compliance.status", "Fail")]}]}
    controls = stats(sh, "compliance.control", fail)
    assert max(controls, key=controls.get) == "IAM.6"
    iam6 = {"CompositeFilters": [{"StringFilters": [ocsf("compliance.control", "IAM.6"), ocsf("compliance.status", "Fail")]}]}
    failing_accounts = stats(sh, "cloud.account.uid", iam6)
    assert len(failing_accounts) > len(accounts) // 2
    results = stats(sh, "compliance.status")
    assert set(results) <= {"Pass", "Fail", "Warning", "Unknown"}
    assert 0.01 < results["Fail"] / sum(results.values()) < 0.06, results
    standards = stats(sh, "compliance.standards")
    assert "standards/aws-foundational-security-best-practices/v/1.0.0" in standards


def test_statistics_scopes_and_limits(aws, accounts, admin, management):
    org = aws.client("organizations")
    org_id = org.describe_organization()["Organization"]["Id"]
    root = org.list_roots()["Roots"][0]["Id"]
    ous = org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    sh = aws.client("securityhub", REGIONS[1], admin)
    whole = stats(sh, "cloud.account.uid")
    enabled_here = set(whole)
    assert stats(sh, "cloud.account.uid", Scopes={"AwsOrganizations": [{"OrganizationId": org_id}]}) == whole
    ou = next(o for o in ous if o["Name"] == "Security")
    in_ou = {a["Id"] for a in org.list_accounts_for_parent(ParentId=ou["Id"])["Accounts"]}
    scoped = stats(sh, "cloud.account.uid", Scopes={"AwsOrganizations": [{"OrganizationalUnitId": ou["Id"]}]})
    assert set(scoped) == in_ou & enabled_here and scoped == {a: whole[a] for a in scoped}
    for scopes, code in [
        ({"AwsOrganizations": [{"OrganizationId": org_id}, {"OrganizationalUnitId": ou["Id"]}]}, "ValidationException"),
        ({"AwsOrganizations": [{"OrganizationId": "o-0000000000"}]}, "OrganizationNotFoundException"),
        ({"AwsOrganizations": [{"OrganizationalUnitId": "ou-0000-00000000"}]}, "OrganizationalUnitNotFoundException"),
        ({"AwsOrganizations": [{"OrganizationalUnitId": ou["Id"]}] * 11}, "ValidationException"),
    ]:
        with pytest.raises(ClientError) as e:
            stats(sh, "cloud.account.uid", Scopes=scopes)
        assert error(e) == (code, 400), scopes
    # "Only the delegated administrator account can use Scopes. Other accounts receive an
    # AccessDeniedException."; without it, they see their own findings.
    for account in (accounts[2], management):
        msh = aws.client("securityhub", REGIONS[1], account)
        with pytest.raises(ClientError) as e:
            stats(msh, "cloud.account.uid", Scopes={"AwsOrganizations": [{"OrganizationId": org_id}]})
        assert error(e) == ("AccessDeniedException", 403)
        assert set(stats(msh, "cloud.account.uid")) == {account}
    raw = aws.client("securityhub", REGIONS[1], admin, validate=False)
    for n in (0, 401):
        with pytest.raises(ClientError) as e:
            raw.get_finding_statistics_v2(GroupByRules=[{"GroupByField": "severity"}], MaxStatisticResults=n)
        assert error(e) == ("ValidationException", 400), n
    with pytest.raises(ClientError) as e:
        sh.get_finding_statistics_v2(GroupByRules=[{"GroupByField": "severity"}] * 6)
    assert error(e) == ("ValidationException", 400)
    two = sh.get_finding_statistics_v2(GroupByRules=[{"GroupByField": "cloud.account.uid"}], MaxStatisticResults=2)
    top = two["GroupByResults"][0]["GroupByValues"]
    assert [v["Count"] for v in top] == sorted(whole.values(), reverse=True)[:2]
    asc = sh.get_finding_statistics_v2(GroupByRules=[{"GroupByField": "severity"}], SortOrder="asc")
    counts = [v["Count"] for v in asc["GroupByResults"][0]["GroupByValues"]]
    assert counts == sorted(counts)
    # Several rules in one call, each with its own filters; a date range.
    recent = {"CompositeFilters": [{"DateFilters": [
        {"FieldName": "finding_info.created_time_dt", "Filter": {"DateRange": {"Value": 30, "Unit": "DAYS", "Comparison": "WITHIN"}}}
    ]}]}
    older = {"CompositeFilters": [{"DateFilters": [
        {"FieldName": "finding_info.created_time_dt", "Filter": {"DateRange": {"Value": 30, "Unit": "DAYS", "Comparison": "OLDER_THAN"}}}
    ]}]}
    out = sh.get_finding_statistics_v2(
        GroupByRules=[{"GroupByField": "severity", "Filters": recent}, {"GroupByField": "severity", "Filters": older}, {"GroupByField": "severity"}],
        MaxStatisticResults=400,
    )["GroupByResults"]
    a, b, total = ({v["FieldValue"]: v["Count"] for v in r["GroupByValues"]} for r in out)
    assert 0 < sum(a.values()) < sum(total.values())
    assert {k: a.get(k, 0) + b.get(k, 0) for k in total} == total
    with pytest.raises(ClientError) as e:
        stats(sh, "severity", {"CompositeFilters": [{"StringFilters": [ocsf("metadata.uid", "x")]}]})
    assert error(e) == ("ValidationException", 400)
