"""Config recorders (awsJson1_1): DescribeConfigurationRecorders and
DescribeConfigurationRecorderStatus in every account and region, read by botocore and compared
with the exporter's aws_config_recorder* series."""

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
            assert exported.get("aws_config_recorders", **where) == len(recorders), where
            assert sorted(r["name"] for r in recorders) == sorted(s["name"] for s in statuses)
            for r in recorders:
                assert r["roleARN"].startswith(f"arn:aws:iam::{account}:role/")
                assert r["arn"].startswith(f"arn:aws:config:{region}:{account}:configuration-recorder/{r['name']}/")
                assert r["recordingGroup"]["allSupported"] is True
            if not recorders:
                seen_cases.add("off")
            for s in statuses:
                l = dict(where, recorder=s["name"])
                assert isinstance(s["recording"], bool)
                assert exported.get("aws_config_recorder_recording", **l) == (1 if s["recording"] else 0)
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
