"""The exporter against moto: an AWS emulator no one here wrote.

moto_server (PyPI `moto[server]`) runs on loopback and is filled through boto3 (an organization
with three member accounts, one of them in an OU; configuration recorders recording, stopped and
never started in two regions and three accounts; GuardDuty detectors enabled and disabled in two
regions; a configuration aggregator). Then `posture-exporter collect --once` runs against it with
`aws.endpoint_url` and static test credentials, discovering the organization and assuming
`PostureExporterReadOnly` into each member as it would on AWS (moto tells the account of an
assumed-role key from the role ARN, so each member's calls land in that member's moto account),
and what it exports must be what moto holds.

Operations the exporter calls, and what moto does with them (moto 5.2; the last test calls each
one through boto3, so this table cannot go stale silently):

| operation                                       | collector / use        | moto        | checked here as                                   |
|-------------------------------------------------|------------------------|-------------|---------------------------------------------------|
| STS GetCallerIdentity                           | own account            | supported   | calls succeed                                     |
| STS AssumeRole                                  | every member account   | supported   | per-account values land in the right account      |
| Organizations ListAccounts                      | discovery, aws_account | supported   | aws_account_info == ListAccounts                  |
| Organizations ListRoots                         | (table test only)      | supported   | not called: OU filters walk from the OUs named    |
| Organizations ListOrganizationalUnitsForParent  | discovery include_ous  | supported   | the OU filter walks only the OU: one call         |
| Organizations ListAccountsForParent             | discovery include_ous  | supported   | it selects exactly the OU's account: one call     |
| Config DescribeConfigurationRecorders           | config_recorder        | supported   | aws_config_recorders == moto's, every acct/region |
| Config DescribeConfigurationRecorderStatus      | config_recorder        | supported   | recording, last status (raw `PENDING`), times     |
| Config ListConfigurationRecorders               | config_recorder        | unsupported (HTTP 500) | not called: `service_linked: false` here |
| Config DescribeDeliveryChannelStatus            | config_recorder        | unsupported (HTTP 500, not implemented) | not called: `delivery: false` here |
| Config DescribeConfigRuleEvaluationStatus       | config_recorder        | unsupported (HTTP 500) | not called: `rule_evaluations: false` here |
| Config DescribeConfigurationAggregators         | config_aggregators     | supported   | aws_config_aggregators 0 where moto has none      |
| Config DescribeConfigurationAggregatorSourcesStatus | config_aggregators | unsupported (HTTP 500) | that run fails cleanly               |
| Config DescribeOrganizationConfigRuleStatuses   | config_org_rules       | unsupported (HTTP 500) | the run fails cleanly                  |
| Config DescribeOrganizationConfigRules          | config_org_rules       | unsupported (HTTP 500) | not reached                            |
| Config GetOrganizationConfigRuleDetailedStatus  | config_org_rules       | unsupported (HTTP 500) | not reached                            |
| Config DescribeOrganizationConformancePackStatuses | config_org_conformance_packs | supported | the pack's status exported as moto gives it |
| Config DescribeOrganizationConformancePacks     | config_org_conformance_packs | unsupported without names (HTTP 500: moto iterates the absent name list) | its part (`definitions`) fails; the statuses stay exported |
| Config GetOrganizationConformancePackDetailedStatus | config_org_conformance_packs | supported (the caller's account only, no filters) | the members part reads it |
| Config DescribeComplianceByConfigRule           | config_compliance      | unsupported (HTTP 500) | every account and region's run fails cleanly |
| Config DescribeConformancePacks                 | config_compliance      | unsupported (HTTP 500) | not reached                            |
| Config GetConformancePackComplianceSummary      | config_compliance      | unsupported (HTTP 500) | not reached                            |
| Config DescribeConformancePackCompliance        | config_compliance      | unsupported (HTTP 500) | not reached                            |
| Config ListConformancePackComplianceScores      | config_compliance      | unsupported (HTTP 500) | its part (`conformance pack scores`) fails in the same runs |
| Config DescribeAggregateComplianceByConfigRules | config_compliance (aggregator) | unsupported (HTTP 500) | the aggregator run fails cleanly |
| Config DescribeAggregateComplianceByConformancePacks | config_compliance (aggregator) | unsupported (HTTP 500) | not reached                |
| GuardDuty ListDetectors                         | guardduty              | supported   | aws_guardduty_detectors 0 where moto has none     |
| GuardDuty GetDetector                           | guardduty              | supported   | the detector and its enabled state exported (no features: moto lists none) |
| GuardDuty GetFindingsStatistics                 | guardduty              | unsupported (HTTP 404) | its parts (findings, overdue findings) fail: up 0, operation logged, detector still exported |
| GuardDuty ListMembers                           | guardduty              | unsupported (HTTP 404) | its part fails the same way            |
| GuardDuty ListFindings                          | guardduty              | unsupported (HTTP 404) | its part (oldest findings) fails the same way, at its first bucket |
| GuardDuty GetFindings                           | guardduty              | unsupported (HTTP 404) | not reached: ListFindings fails first in the same part |
| GuardDuty GetAdministratorAccount               | guardduty              | supported   | not reached: ListMembers fails first in the same part |
| GuardDuty GetMemberDetectors                    | guardduty administrator| unsupported (HTTP 404) | not run here (administrator mode)      |
| GuardDuty DescribeOrganizationConfiguration     | guardduty administrator| unsupported (HTTP 404) | not run here (administrator mode)      |
| GuardDuty GetOrganizationStatistics             | guardduty administrator| unsupported (HTTP 404) | not run here (administrator mode)      |
| GuardDuty GetCoverageStatistics                 | guardduty administrator| unsupported (HTTP 404) | not run here (administrator mode)      |
| GuardDuty GetDetector findingPublishingFrequency | guardduty             | supported   | aws_guardduty_finding_publishing_frequency == moto's (SIX_HOURS unless created otherwise) |
| GuardDuty ListThreatIntelSets                   | guardduty (lists)      | unsupported (HTTP 404) | its part fails: up 0, operation logged |
| GuardDuty GetThreatIntelSet                     | guardduty (lists)      | unsupported (HTTP 404) | not reached                            |
| GuardDuty ListIPSets                            | guardduty (lists)      | supported (since moto 5.2) | the IP sets listed (one in the management account's us-east-1 detector, none elsewhere) |
| GuardDuty GetIPSet                              | guardduty (lists)      | supported (with CreateIPSet) | aws_guardduty_ip_set_status == moto's status, name and id |
| GuardDuty ListFilters                           | guardduty (lists)      | unsupported (HTTP 500, not implemented) | its part fails the same way |
| GuardDuty GetFilter                             | guardduty (lists)      | supported (with CreateFilter) | not reached: ListFilters fails first; the table test reads the filter back |
| GuardDuty GetInvitationsCount                   | guardduty (lists)      | unsupported (HTTP 404) | the invitations part fails in every account and region, GuardDuty on or off |
| GuardDuty ListInvitations                       | guardduty (lists)      | unsupported (HTTP 404) | not reached                            |
| Security Hub DescribeSecurityHubV2              | security_hub           | unsupported (HTTP 404) | not run here (off unless enabled; `generation: auto` would read CSPM after it) |
| Security Hub GetFindingStatisticsV2             | security_hub (new)     | unsupported (HTTP 404) | not run here                           |
| Security Hub DescribeHub                        | security_hub (CSPM)    | supported (InvalidAccessException until EnableSecurityHub, as AWS) | not run here |
| Security Hub GetEnabledStandards                | security_hub (CSPM)    | unsupported (HTTP 404) | not run here                           |
| Security Hub ListMembers                        | security_hub (CSPM)    | supported   | an empty list where no member was created         |
| Security Hub DescribeOrganizationConfiguration  | security_hub (CSPM)    | supported (AccessDeniedException unless an administrator was enabled) | not run here |
| Security Hub ListConfigurationPolicyAssociations| security_hub (CSPM)    | unsupported (HTTP 404) | not run here                           |
| Security Hub GetFindings                        | security_hub (CSPM)    | supported   | an empty list where no finding was imported       |
| Security Hub BatchGetSecurityControls           | security_hub (new)     | unsupported (HTTP 404) | not run here                           |
| IAM GenerateOrganizationsAccessReport           | iam_access_report      | unsupported (HTTP 500) | the run fails cleanly                  |
| IAM GetOrganizationsAccessReport                | iam_access_report      | unsupported (HTTP 500) | not reached                            |

"Fails cleanly": that (collector, account, region) says posture_exporter_collector_up 0, its
logged error names the unsupported operation (for a part of a run, the part, and what the other
calls of the run read is exported), every other collector exports as before, nothing
panics, and `collect --once` exits 1 as documented for a failed collection. The unsupported
operations are not faked: a collector that needs one is shown failing, not passing.

moto differs from AWS's documentation in places; the exporter must still export honestly and
never crash. moto reports a started recorder's lastStatus as `PENDING` where AWS documents
`Pending`: the exporter exports `status="PENDING"` 1 beside the four documented states at 0.

AWS's documented surprises that the simulator holds, and why moto 5.2 cannot hold them here:
- a member account listing its administrator's IP and threat-intel sets: moto answers
  ListMembers with HTTP 404 and keeps no administrator relationship, so the exporter cannot learn
  that a member is managed, and moto gives each account only its own sets;
- the legacy and the unified runtime plan side by side, and the new plan names: moto's
  GetDetector lists no features at all;
- organization rules and packs visible only to the account that deployed them: moto answers
  DescribeOrganizationConfigRules with HTTP 500 and DescribeOrganizationConformancePacks without
  names the same way.
They are checked against the simulator (tests/integration, tests/botocore), whose answers the
botocore suite parses by AWS's models.
"""

import collections

import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from conftest import REGIONS

# moto serves neither ListConfigurationRecorders, DescribeDeliveryChannelStatus nor
# DescribeConfigRuleEvaluationStatus (see the table): the recorders are read without them.
RECORDER = "  config_recorder: {interval: 5m, service_linked: false, delivery: false, rule_evaluations: false}\n"

RECORDER_ONLY = RECORDER + """\
  config_org_rules: {enabled: false}
  config_aggregators: {enabled: false}
  config_compliance: {enabled: false}
  config_org_conformance_packs: {enabled: false}
  guardduty: {enabled: false}
  iam_access_report: {enabled: false}
"""


def calls(exp, service, operation, outcome="ok"):
    return exp.get("posture_exporter_aws_api_calls_total", service=service, operation=operation, outcome=outcome) or 0


def failures(logs):
    """(collector, account, region) -> the logged errors of each failed collection or part."""
    out = {}
    for rec in logs:
        f = rec.get("fields", {})
        msg = f.get("message", "")
        if msg.startswith("collection failed") or msg.startswith("part of the collection failed"):
            key = (f["collector"], f["account_id"], f["region"])
            out[key] = (out[key] + "; " if key in out else "") + f["error"]
    return out


def accounts_of(world):
    return [world["management"], *world["members"]]


@pytest.fixture(scope="module")
def recorder_run(run_exporter):
    code, exp, logs, stderr = run_exporter(RECORDER_ONLY)
    assert code == 0, stderr[-4000:]
    return exp


@pytest.fixture(scope="module")
def full_run(run_exporter, world):
    collectors = (
        RECORDER + "  config_org_rules: {interval: 10m}\n"
        f"  config_aggregators: {{interval: 10m, regions: [{', '.join(REGIONS)}]}}\n"
        "  guardduty: {interval: 5m}\n"
        f"  iam_access_report: {{interval: 6h, entity_paths: [{world['org_id']}/{world['root']}]}}\n"
    )
    return run_exporter(collectors)


def test_accounts_are_what_moto_lists(moto, recorder_run):
    listed = [
        a for p in moto.client("organizations").get_paginator("list_accounts").paginate() for a in p["Accounts"]
    ]
    assert len(listed) == 4
    shown = {(l["account_id"], l["account_name"], l["status"]) for l, v in recorder_run.series("aws_account_info") if v == 1}
    assert shown == {(a["Id"], a["Name"], a["Status"]) for a in listed}


def test_recorders_of_every_account_and_region_are_what_moto_holds(moto, world, recorder_run):
    exp = recorder_run
    seen = collections.Counter()
    for account in accounts_of(world):
        for region in REGIONS:
            cfg = moto.client("config", region, None if account == world["management"] else account)
            names = [r["name"] for r in cfg.describe_configuration_recorders()["ConfigurationRecorders"]]
            statuses = cfg.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
            where = dict(account_id=account, region=region)
            assert exp.get("aws_config_recorders", kind="customer_managed", **where) == len(names), where
            assert exp.get("posture_exporter_collector_up", collector="config_recorder", **where) == 1
            seen["recorders" if names else "off"] += 1
            for s in statuses:
                l = dict(where, recorder=s["name"])
                recording = [v for _, v in exp.series("aws_config_recorder_recording", **l)]
                assert recording == [1 if s["recording"] else 0], l
                status = s.get("lastStatus")
                states = exp.state_set("aws_config_recorder_last_status", **l)
                if status is None:
                    assert states == {}, l  # moto has none for a recorder never started
                    seen["never started"] += 1
                else:
                    assert states == {status: 1}, l  # the current status alone
                # Since when it fails, where the status is not Success; since when it stopped,
                # while it does not record.
                for field, metric, shown in (
                    ("lastStatusChangeTime", "aws_config_recorder_last_status_change_timestamp_seconds",
                     status != "Success"),
                    ("lastStopTime", "aws_config_recorder_last_stop_timestamp_seconds", not s["recording"]),
                ):
                    want = s[field].timestamp() if field in s and shown else None
                    got = exp.get(metric, **l)
                    assert (want is None and got is None) or abs(want - got) <= 1e-3, (l, field, want, got)
                seen["stopped" if "lastStopTime" in s else "recording" if s["recording"] else "idle"] += 1
    assert seen["off"] and seen["recorders"] >= 4 and seen["stopped"] and seen["recording"] and seen["never started"]
    # Every call the run made succeeded, as each account (management: its own credentials).
    assert calls(exp, "sts", "AssumeRole") == len(world["members"])
    assert calls(exp, "sts", "GetCallerIdentity") >= 1
    assert calls(exp, "organizations", "ListAccounts") >= 1
    n = len(accounts_of(world)) * len(REGIONS)
    assert calls(exp, "config", "DescribeConfigurationRecorders") == n
    assert calls(exp, "config", "DescribeConfigurationRecorderStatus") == n
    assert not [l for l, _ in exp.series("posture_exporter_aws_api_calls_total") if l["outcome"] != "ok"]


def test_moto_capitals_are_exported_under_their_raw_spelling(moto, world, recorder_run):
    status = moto.client("config").describe_configuration_recorder_status()["ConfigurationRecordersStatus"][0]
    assert status["lastStatus"] == "PENDING", "moto spells it in capitals (AWS documents Pending)"
    l = dict(account_id=world["management"], region="us-east-1", recorder="default")
    assert recorder_run.state_set("aws_config_recorder_last_status", **l) == {"PENDING": 1}
    stopped = dict(account_id=world["management"], region="eu-west-1", recorder="regional")
    assert [v for _, v in recorder_run.series("aws_config_recorder_recording", **stopped)] == [0]
    assert recorder_run.get("aws_config_recorder_last_status", **stopped, status="PENDING") == 1
    assert recorder_run.get("aws_config_recorder_last_stop_timestamp_seconds", **stopped) is not None


def test_collectors_needing_unsupported_operations_fail_cleanly(moto, world, full_run, recorder_run):
    code, exp, logs, stderr = full_run
    assert code == 1, "collect --once exits 1 when a collection failed"
    assert "panicked" not in stderr
    failed = failures(logs)
    mgmt, home = world["management"], "us-east-1"
    expected = {
        ("config_org_rules", mgmt, home): "DescribeOrganizationConfigRuleStatuses",
        ("config_org_conformance_packs", mgmt, home): "DescribeOrganizationConformancePacks",
        ("config_aggregators", mgmt, world["aggregator_region"]): "DescribeConfigurationAggregatorSourcesStatus",
        ("iam_access_report", mgmt, home): "GenerateOrganizationsAccessReport",
    }
    # The invitations part fails in every account and region; where there is a detector, its
    # findings, members, sets and filters parts fail too.
    for account in accounts_of(world):
        for region in REGIONS:
            expected[("guardduty", account, region)] = "GetInvitationsCount"
    for (account, region) in world["detectors"]:
        expected[("guardduty", account, region)] = "GetFindingsStatistics"
    # config_compliance without an aggregator: every account and region, at its first call.
    for account in accounts_of(world):
        for region in REGIONS:
            expected[("config_compliance", account, region)] = "DescribeComplianceByConfigRule"
    assert sorted(failed) == sorted(expected)
    for key, op in expected.items():
        assert op in failed[key], (key, failed[key])
        if key[0] == "guardduty":
            assert "GetInvitationsCount" in failed[key], (key, failed[key])
        if key[0] == "guardduty" and op == "GetFindingsStatistics":
            # Every part of each detector failed, each named.
            for other in ("ListMembers", "ListFindings", "ListThreatIntelSets", "ListFilters"):
                assert other in failed[key], (key, other, failed[key])
            assert "ListIPSets" not in failed[key] and "GetIPSet" not in failed[key], (key, failed[key])
    down = {
        (l["collector"], l["account_id"], l["region"])
        for l, v in exp.series("posture_exporter_collector_up")
        if v == 0
    }
    assert down == set(expected)

    # What moto supports is still exported as it holds it.
    for account in accounts_of(world):
        for region in REGIONS:
            where = dict(account_id=account, region=region)
            has = (account, region) in world["detectors"]
            listed = moto.client("guardduty", region, None if account == mgmt else account).list_detectors()
            assert len(listed["DetectorIds"]) == (1 if has else 0)
            assert exp.get("aws_guardduty_detectors", **where) == (1 if has else 0), where
            if has:
                det_id = world["detectors"][(account, region)]
                status = moto.client("guardduty", region, None if account == mgmt else account).get_detector(
                    DetectorId=det_id
                )["Status"]
                on = where
                assert exp.get("aws_guardduty_detector_enabled", **on, detector_id=det_id) == (1 if status == "ENABLED" else 0), on
                # The failed parts' families are absent (there were never good values to keep).
                assert exp.get("aws_guardduty_findings", **on, severity="high") is None
                assert exp.get("aws_guardduty_archive_filters", **on) is None
                # The publishing frequency comes with GetDetector, which moto serves.
                freq = moto.client("guardduty", region, None if account == mgmt else account).get_detector(
                    DetectorId=det_id
                )["FindingPublishingFrequency"]
                assert exp.get("aws_guardduty_finding_publishing_frequency", **on, frequency=freq) == 1, (on, freq)
                assert sum(v for _, v in exp.series("aws_guardduty_finding_publishing_frequency", **on)) == 1
                # The IP sets moto holds, with their status, and no other.
                gd = moto.client("guardduty", region, None if account == mgmt else account)
                held = gd.list_ip_sets(DetectorId=det_id)["IpSetIds"]
                exported = {l["set_id"] for l, _ in exp.series("aws_guardduty_ip_set_status", **on)}
                assert exported == set(held), (on, held, exported)
                for set_id in held:
                    s = gd.get_ip_set(DetectorId=det_id, IpSetId=set_id)
                    assert (
                        exp.get(
                            "aws_guardduty_ip_set_status", **on, set_id=set_id, set_name=s["Name"], status=s["Status"]
                        )
                        == 1
                    ), (on, s)
    other = [r for r in REGIONS if r != world["aggregator_region"]]
    for region in other:
        assert moto.client("config", region).describe_configuration_aggregators()["ConfigurationAggregators"] == []
        assert exp.get("aws_config_aggregators", region=region) == 0
        assert exp.get("posture_exporter_collector_up", collector="config_aggregators", account_id=mgmt, region=region) == 1
    for name in recorder_run.samples:
        if name.startswith("aws_config_recorder") or name == "aws_account_info":
            assert sorted(exp.series(name), key=repr) == sorted(recorder_run.series(name), key=repr), name
    # The supported GuardDuty calls before the unsupported one succeeded, once per detector.
    n = len(world["detectors"])
    assert calls(exp, "guardduty", "ListDetectors") == len(accounts_of(world)) * len(REGIONS)
    assert calls(exp, "guardduty", "GetDetector") == n
    # Twice per detector: the findings part, then the overdue findings part (which, with the
    # counts unknown, asks its first bucket and stops at the error).
    assert calls(exp, "guardduty", "GetFindingsStatistics", "error") == 2 * n
    assert calls(exp, "guardduty", "ListMembers", "error") == n
    # The oldest findings part, with the counts unknown, asks its first bucket (high) and stops.
    assert calls(exp, "guardduty", "ListFindings", "error") == n
    assert calls(exp, "guardduty", "GetFindings") == 0
    for op in ("ListThreatIntelSets", "ListFilters"):
        assert calls(exp, "guardduty", op, "error") >= n, op
    assert calls(exp, "guardduty", "ListIPSets") == n
    assert calls(exp, "guardduty", "GetIPSet") == 1
    ip_set = exp.series(
        "aws_guardduty_ip_set_status", account_id=mgmt, region="us-east-1", set_id=world["ip_set"], status="ACTIVE"
    )
    assert [v for _, v in ip_set] == [1], ip_set
    assert calls(exp, "guardduty", "GetInvitationsCount", "error") >= len(accounts_of(world)) * len(REGIONS)
    assert calls(exp, "guardduty", "GetFilter") == 0
    assert calls(exp, "config", "DescribeConfigurationAggregators") == len(REGIONS)
    # The org conformance pack run read the statuses moto serves; the listing of the
    # definitions failed as a part of its own, and the status the first call gave is exported.
    assert calls(exp, "config", "DescribeOrganizationConformancePackStatuses") == 1
    assert calls(exp, "config", "DescribeOrganizationConformancePacks", "error") == 1
    pack_statuses = moto.client("config", home).describe_organization_conformance_pack_statuses()[
        "OrganizationConformancePackStatuses"
    ]
    assert [p["OrganizationConformancePackName"] for p in pack_statuses] == [world["org_pack"]]
    shown = {
        l["status"]: v
        for l, v in exp.series("aws_config_org_conformance_pack_status", pack=world["org_pack"], deployed_by=mgmt)
    }
    assert shown.get(pack_statuses[0]["Status"]) == 1, (pack_statuses, shown)
    assert sum(shown.values()) == 1, shown
    parts = {
        r["fields"].get("part")
        for r in logs
        if r.get("fields", {}).get("collector") == "config_org_conformance_packs" and "part" in r["fields"]
    }
    assert parts == {"definitions"}, parts


def test_compliance_from_an_aggregator_fails_cleanly_alone(world, run_exporter):
    """moto serves no aggregate compliance: the one aggregator job is down, nothing else."""
    collectors = RECORDER_ONLY.replace(
        "config_compliance: {enabled: false}",
        f"config_compliance: {{interval: 15m, aggregator: moto-aggregator, region: {world['aggregator_region']}}}",
    )
    code, exp, logs, stderr = run_exporter(collectors)
    assert code == 1 and "panicked" not in stderr
    key = ("config_compliance", world["management"], world["aggregator_region"])
    failed = failures(logs)
    assert sorted(failed) == [key]
    assert "DescribeAggregateComplianceByConfigRules" in failed[key]
    down = {
        (l["collector"], l["account_id"], l["region"])
        for l, v in exp.series("posture_exporter_collector_up")
        if v == 0
    }
    assert down == {key}
    assert exp.series("aws_config_recorders")
    assert not exp.series("aws_config_rules_by_compliance")


def test_discovery_by_organizational_unit(world, run_exporter):
    code, exp, logs, stderr = run_exporter(RECORDER_ONLY, f"    include_ous: [{world['ou']}]")
    assert code == 0, stderr[-4000:]
    # Only the included OU is walked: its accounts (one page), its child OUs (none); neither
    # the organization's listing nor its root.
    assert [l["account_id"] for l, _ in exp.series("aws_account_info")] == [world["members"][2]]
    jobs = {(l["account_id"], l["region"]) for l, _ in exp.series("posture_exporter_collector_up")}
    assert jobs == {(world["members"][2], r) for r in REGIONS}
    assert calls(exp, "sts", "AssumeRole") == 1
    assert calls(exp, "organizations", "ListAccountsForParent") == 1
    assert calls(exp, "organizations", "ListOrganizationalUnitsForParent") == 1
    assert calls(exp, "organizations", "ListAccounts") == 0
    assert calls(exp, "organizations", "ListRoots") == 0


UNSUPPORTED = [
    ("config", "describe_configuration_aggregator_sources_status", {"ConfigurationAggregatorName": "moto-aggregator"}),
    ("config", "describe_organization_config_rule_statuses", {}),
    ("config", "describe_organization_config_rules", {}),
    ("config", "get_organization_config_rule_detailed_status", {"OrganizationConfigRuleName": "r"}),
    ("guardduty", "get_findings_statistics", {"GroupBy": "SEVERITY"}),
    ("guardduty", "list_members", {"OnlyAssociated": "false"}),
    ("config", "describe_compliance_by_config_rule", {}),
    ("config", "list_configuration_recorders", {}),
    ("config", "describe_delivery_channel_status", {}),
    ("config", "describe_config_rule_evaluation_status", {}),
    ("config", "describe_conformance_packs", {}),
    ("config", "get_conformance_pack_compliance_summary", {"ConformancePackNames": ["p"]}),
    ("config", "describe_conformance_pack_compliance", {"ConformancePackName": "p"}),
    ("config", "list_conformance_pack_compliance_scores", {}),
    ("config", "describe_organization_conformance_packs", {}),
    ("config", "describe_aggregate_compliance_by_config_rules", {"ConfigurationAggregatorName": "moto-aggregator"}),
    ("config", "describe_aggregate_compliance_by_conformance_packs", {"ConfigurationAggregatorName": "moto-aggregator"}),
    ("guardduty", "get_member_detectors", {"AccountIds": ["111111111111"]}),
    ("guardduty", "describe_organization_configuration", {}),
    ("guardduty", "get_organization_statistics", {"NoDetector": True}),
    ("guardduty", "get_coverage_statistics", {"StatisticsType": ["COUNT_BY_RESOURCE_TYPE"]}),
    ("guardduty", "list_threat_intel_sets", {}),
    ("guardduty", "get_threat_intel_set", {"ThreatIntelSetId": "0" * 32}),
    ("guardduty", "list_filters", {}),
    ("guardduty", "get_invitations_count", {"NoDetector": True}),
    ("guardduty", "list_invitations", {"NoDetector": True}),
    ("securityhub", "describe_security_hub_v2", {}),
    ("securityhub", "get_finding_statistics_v2", {"GroupByRules": [{"GroupByField": "severity"}]}),
    ("securityhub", "get_enabled_standards", {}),
    ("securityhub", "list_configuration_policy_associations", {}),
    ("securityhub", "batch_get_security_controls", {"SecurityControlIds": ["IAM.6"]}),
    ("account", "list_regions", {}),
    ("iam", "generate_organizations_access_report", {"EntityPath": None}),
    ("iam", "get_organizations_access_report", {"JobId": "0" * 36}),
]
SUPPORTED = [
    ("sts", "get_caller_identity", {}),
    ("organizations", "list_accounts", {}),
    ("organizations", "list_roots", {}),
    ("organizations", "list_organizational_units_for_parent", {"ParentId": None}),
    ("organizations", "list_accounts_for_parent", {"ParentId": None}),
    ("config", "describe_configuration_recorders", {}),
    ("config", "describe_configuration_recorder_status", {}),
    ("config", "describe_configuration_aggregators", {}),
    ("config", "describe_organization_conformance_pack_statuses", {}),
    ("config", "get_organization_conformance_pack_detailed_status", {"OrganizationConformancePackName": None}),
    ("guardduty", "list_detectors", {}),
    ("guardduty", "get_detector", {}),
    ("guardduty", "get_administrator_account", {}),
    ("guardduty", "get_filter", {"FilterName": "moto-archive-scanner"}),
    ("guardduty", "list_ip_sets", {}),
    ("guardduty", "get_ip_set", {"IpSetId": None}),
    ("securityhub", "list_members", {}),
    ("securityhub", "get_findings", {}),
]


def _args(world, service, kw):
    kw = dict(kw)
    if "EntityPath" in kw:
        kw["EntityPath"] = f"{world['org_id']}/{world['root']}"
    if "ParentId" in kw:
        kw["ParentId"] = world["root"]
    if "IpSetId" in kw and kw["IpSetId"] is None:
        kw["IpSetId"] = world["ip_set"]
    if "OrganizationConformancePackName" in kw:
        kw["OrganizationConformancePackName"] = world["org_pack"]
    if kw.pop("NoDetector", False):
        return kw
    if service == "guardduty" and "DetectorId" not in kw:
        kw["DetectorId"] = world["detectors"][(world["management"], "us-east-1")]
    return kw


@pytest.mark.parametrize("service,op,kw", SUPPORTED, ids=[o for _, o, _ in SUPPORTED])
def test_the_table_supported_rows_hold(moto, world, service, op, kw):
    kw = _args(world, service, kw)
    if op == "list_detectors":
        kw.pop("DetectorId")
    out = getattr(moto.client(service), op)(**kw)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    if op == "get_filter":
        # What the exporter would judge: an ARCHIVE rule without a severity condition.
        assert out["Action"] == "ARCHIVE" and "severity" not in out["FindingCriteria"]["Criterion"]
    if op == "list_ip_sets":
        assert out["IpSetIds"] == [world["ip_set"]]
    if op == "get_ip_set":
        assert out["Name"] == "moto-trusted-ips" and out["Status"] == "ACTIVE", out


@pytest.mark.parametrize("service,op,kw", UNSUPPORTED, ids=[o for _, o, _ in UNSUPPORTED])
def test_the_table_unsupported_rows_hold(moto, world, service, op, kw):
    """If moto learns one of these, this fails: move the row to supported and compare its values."""
    with pytest.raises((ClientError, ResponseParserError)) as e:
        getattr(moto.client(service), op)(**_args(world, service, kw))
    if isinstance(e.value, ClientError):
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] in (404, 500, 501), e.value.response
    else:  # an awsQuery client cannot parse moto's HTML error page
        assert "500 Internal Server Error" in str(e.value)
