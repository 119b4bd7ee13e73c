"""Config recorders (awsJson1_1): ListConfigurationRecorders, DescribeConfigurationRecorders,
DescribeConfigurationRecorderStatus (by name, ARN and service principal),
DescribeDeliveryChannelStatus and DescribeConfigRuleEvaluationStatus in every account and region,
read by botocore with their paginators and compared with the exporter's aws_config_recorder*,
aws_config_delivery_* and aws_config_rule_evaluation_* series."""

import pytest
from botocore.exceptions import ClientError

from conftest import REGIONS

KNOWN = ["Pending", "Success", "Failure", "NotApplicable"]
TOLERANCE = 1e-3


def ts(dt):
    return dt.timestamp() if dt is not None else None


def close(a, b):
    if a is None or b is None:
        return a is b
    return abs(a - b) <= TOLERANCE


def test_every_account_and_region_matches_the_exporter(aws, accounts, exported):
    seen_status = set()
    seen_cases = set()
    for account in accounts:
        for region in REGIONS:
            cfg = aws.client("config", region, account)
            recorders = cfg.describe_configuration_recorders()["ConfigurationRecorders"]
            statuses = cfg.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
            where = dict(account_id=account, region=region)
            assert exported.get("aws_config_recorders", kind="customer_managed", **where) == len(recorders), where
            assert sorted(r["name"] for r in recorders) == sorted(s["name"] for s in statuses)
            for r in recorders:
                assert r["roleARN"].startswith(f"arn:aws:iam::{account}:role/")
                assert r["arn"].startswith(f"arn:aws:config:{region}:{account}:configuration-recorder/{r['name']}/")
                group = r["recordingGroup"]
                strategy = group["recordingStrategy"]["useOnly"]
                assert group["allSupported"] == (strategy == "ALL_SUPPORTED_RESOURCE_TYPES")
                assert r["recordingScope"] == "PAID" and "servicePrincipal" not in r
                partial = exported.series("aws_config_recorder_partial", recorder=r["name"], **where)
                assert [l["strategy"] for l, _ in partial] == (
                    [] if strategy == "ALL_SUPPORTED_RESOURCE_TYPES" else [strategy]
                ), (where, partial)
            if not recorders:
                seen_cases.add("off")
            for s in statuses:
                l = dict(where, recorder=s["name"])
                assert isinstance(s["recording"], bool)
                recording = exported.series("aws_config_recorder_recording", **l)
                assert [v for _, v in recording] == [1 if s["recording"] else 0], (l, recording)
                states = exported.state_set("aws_config_recorder_last_status", **l)
                # Listed where it is not Success.
                want = {} if s["lastStatus"] == "Success" else {s["lastStatus"]: 1}
                assert states == want, (l, s)
                seen_status.add(s["lastStatus"])
                seen_cases.add("recording" if s["recording"] else "stopped")
                # Since when it fails, only where it does not succeed; since when it stopped, only
                # while it does not record.
                for field, metric, shown in (
                    ("lastStatusChangeTime", "aws_config_recorder_last_status_change_timestamp_seconds",
                     s["lastStatus"] != "Success"),
                    ("lastStopTime", "aws_config_recorder_last_stop_timestamp_seconds", not s["recording"]),
                ):
                    want = ts(s.get(field)) if shown else None
                    assert close(want, exported.get(metric, **l)), (l, field)
                assert ("lastErrorCode" in s) == (s["lastStatus"] == "Failure")
    # The generated organization shows every case; a mismatch above would otherwise pass on
    # an organization where the exporter and botocore both see nothing.
    assert seen_status >= {"Pending", "Success", "Failure"}
    assert seen_cases == {"off", "recording", "stopped"}


def test_recorder_names_select_and_unknown_names_fail(aws, management):
    cfg = aws.client("config")
    names = [r["name"] for r in cfg.describe_configuration_recorders()["ConfigurationRecorders"]]
    assert names
    one = cfg.describe_configuration_recorder_status(ConfigurationRecorderNames=names[:1])
    assert [s["name"] for s in one["ConfigurationRecordersStatus"]] == names[:1]
    for call in (cfg.describe_configuration_recorders, cfg.describe_configuration_recorder_status):
        with pytest.raises(ClientError) as e:
            call(ConfigurationRecorderNames=["no-such-recorder"])
        r = e.value.response
        assert r["Error"]["Code"] == "NoSuchConfigurationRecorderException"
        assert r["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert isinstance(e.value, cfg.exceptions.NoSuchConfigurationRecorderException)


def error(e):
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def walk(client, op, key, page_size=None, **kw):
    """Every item of a paginated listing, and the number of pages it took."""
    cfg = {"PageSize": page_size} if page_size else {}
    pages = list(client.get_paginator(op).paginate(PaginationConfig=cfg, **kw))
    return [x for p in pages for x in p[key]], len(pages)


def test_every_recorder_is_listed_and_read_by_arn(aws, accounts, exported):
    seen_linked = 0
    for account in accounts:
        for region in REGIONS:
            cfg = aws.client("config", region, account)
            where = dict(account_id=account, region=region)
            listed, _ = walk(cfg, "list_configuration_recorders", "ConfigurationRecorderSummaries")
            own = [r for r in listed if "servicePrincipal" not in r]
            linked = [r for r in listed if "servicePrincipal" in r]
            # Without a name: the customer-managed recorder alone.
            plain = cfg.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
            assert [s["name"] for s in plain] == [r["name"] for r in own]
            assert exported.get("aws_config_recorders", kind="service_linked", **where) == (len(linked) or None)
            for r in listed:
                assert r["recordingScope"] in ("INTERNAL", "PAID")
                by_arn = cfg.describe_configuration_recorder_status(Arn=r["arn"])["ConfigurationRecordersStatus"]
                assert [s["arn"] for s in by_arn] == [r["arn"]]
                assert by_arn[0].get("servicePrincipal") == r.get("servicePrincipal")
                l = dict(where, recorder=r["name"], service_principal=r.get("servicePrincipal", ""),
                         recording_scope=r["recordingScope"])
                assert exported.get("aws_config_recorder_recording", **l) == (1 if by_arn[0]["recording"] else 0), l
            for r in linked:
                seen_linked += 1
                assert r["name"].startswith("AWSConfigurationRecorderFor")
                by_sp = cfg.describe_configuration_recorders(ServicePrincipal=r["servicePrincipal"])
                assert [x["arn"] for x in by_sp["ConfigurationRecorders"]] == [r["arn"]]
            # The recordingScope filter.
            internal, _ = walk(cfg, "list_configuration_recorders", "ConfigurationRecorderSummaries",
                               Filters=[{"filterName": "recordingScope", "filterValue": ["INTERNAL"]}])
            assert internal == [r for r in listed if r["recordingScope"] == "INTERNAL"]
    assert seen_linked >= 1


def test_list_recorders_pages_and_limits(aws, accounts):
    # An account and region with two recorders, one a page.
    for account in accounts:
        for region in REGIONS:
            cfg = aws.client("config", region, account)
            listed, pages = walk(cfg, "list_configuration_recorders", "ConfigurationRecorderSummaries")
            if len(listed) < 2:
                continue
            assert pages == 1
            one, pages = walk(cfg, "list_configuration_recorders", "ConfigurationRecorderSummaries", page_size=1)
            assert one == listed and pages == len(listed)
            with pytest.raises(ClientError) as e:
                cfg.list_configuration_recorders(MaxResults=21)
            assert error(e) == ("ValidationException", 400)
            with pytest.raises(ClientError) as e:
                cfg.list_configuration_recorders(Filters=[{"filterName": "recordingScope", "filterValue": ["PAID"]}],
                                                 NextToken="forged.0000000000000000")
            assert error(e)[1] == 400
            return
    pytest.fail("no account and region with two recorders")


def test_one_recorder_a_request_as_the_model_documents(aws, accounts):
    for account in accounts:
        for region in REGIONS:
            cfg = aws.client("config", region, account)
            listed = cfg.list_configuration_recorders()["ConfigurationRecorderSummaries"]
            own = [r for r in listed if "servicePrincipal" not in r]
            linked = [r for r in listed if "servicePrincipal" in r]
            if not (own and linked):
                continue
            for call in (cfg.describe_configuration_recorder_status, cfg.describe_configuration_recorders):
                # A name and an ARN, even of the same recorder, are two: refused.
                for kw in (dict(ConfigurationRecorderNames=[own[0]["name"]], Arn=own[0]["arn"]),
                           dict(ConfigurationRecorderNames=[own[0]["name"], linked[0]["name"]]),
                           dict(Arn=own[0]["arn"], ServicePrincipal=linked[0]["servicePrincipal"])):
                    with pytest.raises(ClientError) as e:
                        call(**kw)
                    assert error(e) == ("ValidationException", 400), kw
                # A principal that links no recorder here, or none AWS knows.
                with pytest.raises(ClientError) as e:
                    call(ServicePrincipal="no-such-service.amazonaws.com")
                assert error(e) == ("ValidationException", 400)
                with pytest.raises(ClientError) as e:
                    call(Arn=own[0]["arn"] + "0")
                assert error(e) == ("NoSuchConfigurationRecorderException", 400)
                with pytest.raises(ClientError) as e:
                    call(ServicePrincipal="bad principal")
                assert error(e)[1] == 400
            return
    pytest.fail("no account and region with both kinds of recorder")


def test_delivery_channel_status_matches_the_exporter(aws, accounts, exported):
    seen = set()
    for account in accounts:
        for region in REGIONS:
            cfg = aws.client("config", region, account)
            where = dict(account_id=account, region=region)
            channels = cfg.describe_delivery_channel_status()["DeliveryChannelsStatus"]
            recorders = cfg.list_configuration_recorders()["ConfigurationRecorderSummaries"]
            # Read beside a recorder that delivers: "If the recording scope is internal, you will
            # not receive CIs in the delivery channel."
            delivers = any(r["recordingScope"] == "PAID" for r in recorders)
            # "You can have only one delivery channel for each account for each Amazon Web
            # Services Region" (PutDeliveryChannel): that one has no series, none has.
            want_count = len(channels) if delivers and len(channels) != 1 else None
            assert exported.get("aws_config_delivery_channels", **where) == want_count
            want = set()
            for c in channels:
                for kind, member in (("history", "configHistoryDeliveryInfo"),
                                     ("snapshot", "configSnapshotDeliveryInfo"),
                                     ("stream", "configStreamDeliveryInfo")):
                    d = c[member]
                    assert d["lastStatus"] in ("Success", "Failure", "Not_Applicable")
                    seen.add(d["lastStatus"])
                    if d["lastStatus"] == "Failure":
                        want.add((c["name"], kind, d["lastErrorCode"]))
                        if kind != "stream":
                            got = exported.get("aws_config_delivery_last_success_timestamp_seconds",
                                               channel=c["name"], delivery=kind, **where)
                            assert close(got, ts(d["lastSuccessfulTime"]))
                named = cfg.describe_delivery_channel_status(DeliveryChannelNames=[c["name"]])
                assert named["DeliveryChannelsStatus"] == [c]
            got = {(l["channel"], l["delivery"], l["error_code"])
                   for l, _ in exported.series("aws_config_delivery_failing", **where)}
            assert got == want, where
    assert seen == {"Success", "Failure", "Not_Applicable"}
    cfg = aws.client("config")
    with pytest.raises(ClientError) as e:
        cfg.describe_delivery_channel_status(DeliveryChannelNames=["no-such-channel"])
    assert error(e) == ("NoSuchDeliveryChannelException", 400)


def failing(e):
    fail = max([ts(e.get(k)) or 0 for k in ("LastFailedEvaluationTime", "LastFailedInvocationTime")])
    ok = max([ts(e.get(k)) or 0 for k in ("LastSuccessfulEvaluationTime", "LastSuccessfulInvocationTime")])
    return fail > ok


def test_rule_evaluation_status_pages_and_matches_the_exporter(aws, accounts, exported):
    seen = 0
    for account in accounts:
        for region in REGIONS:
            cfg = aws.client("config", region, account)
            where = dict(account_id=account, region=region)
            rules, pages = walk(cfg, "describe_config_rule_evaluation_status", "ConfigRulesEvaluationStatus")
            assert rules and pages == 1
            small, pages = walk(cfg, "describe_config_rule_evaluation_status", "ConfigRulesEvaluationStatus",
                                page_size=4)
            assert small == rules and pages == -(-len(rules) // 4)
            recorders = cfg.list_configuration_recorders()["ConfigurationRecorderSummaries"]
            want = {(e["ConfigRuleName"], e["LastErrorCode"]) for e in rules if failing(e)} if recorders else set()
            got = {(l["rule"], l["error_code"]) for l, _ in exported.series("aws_config_rule_evaluation_failing", **where)}
            assert got == want, where
            seen += len(want)
            for e in rules:
                if (e["ConfigRuleName"], e.get("LastErrorCode")) in want:
                    since = exported.get("aws_config_rule_evaluation_last_success_timestamp_seconds",
                                         rule=e["ConfigRuleName"], **where)
                    assert close(since, ts(e.get("LastSuccessfulEvaluationTime") or e["FirstActivatedTime"]))
    assert seen >= 2
    cfg = aws.client("config")
    names = [e["ConfigRuleName"] for e in cfg.describe_config_rule_evaluation_status()["ConfigRulesEvaluationStatus"]]
    one = cfg.describe_config_rule_evaluation_status(ConfigRuleNames=names[:1])["ConfigRulesEvaluationStatus"]
    assert [e["ConfigRuleName"] for e in one] == names[:1]
    for kw, code in ((dict(Limit=51), "ValidationException"),
                     (dict(ConfigRuleNames=[f"rule-{i}" for i in range(26)]), "ValidationException"),
                     (dict(ConfigRuleNames=["no-such-rule"]), "NoSuchConfigRuleException"),
                     (dict(NextToken="forged.0000000000000000"), "InvalidNextTokenException")):
        with pytest.raises(ClientError) as e:
            cfg.describe_config_rule_evaluation_status(**kw)
        assert error(e) == (code, 400), kw
