"""STS (awsQuery XML): GetCallerIdentity and AssumeRole, read by botocore."""

import datetime

import pytest
from botocore.exceptions import ClientError

from conftest import MEMBERS, ROLE


def error(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_caller_identity_of_the_management_account(aws, management):
    ident = aws.client("sts").get_caller_identity()
    assert ident["Account"] == management
    assert ident["Arn"] == f"arn:aws:iam::{management}:user/posture-exporter"
    assert isinstance(ident["UserId"], str) and ident["UserId"]


def test_assume_role_gives_member_credentials_that_identify_the_member(aws, accounts):
    assert len(accounts) == MEMBERS + 1
    now = datetime.datetime.now(datetime.timezone.utc)
    sts = aws.client("sts")
    for account in accounts[1:]:
        out = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{ROLE}",
            RoleSessionName="verify-session",
            DurationSeconds=900,
        )
        c = out["Credentials"]
        assert c["AccessKeyId"].startswith(f"ASIA{account}")
        assert c["SecretAccessKey"] and c["SessionToken"]
        # Parsed from ISO 8601 into an aware datetime, 15 minutes ahead.
        left = (c["Expiration"] - now).total_seconds()
        assert 840 <= left <= 960, left
        assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account}:assumed-role/{ROLE}/verify-session"
        assert out["AssumedRoleUser"]["AssumedRoleId"].endswith(":verify-session")
        assert out["PackedPolicySize"] == 0
        ident = aws.client(
            "sts",
            creds={
                "aws_access_key_id": c["AccessKeyId"],
                "aws_secret_access_key": c["SecretAccessKey"],
                "aws_session_token": c["SessionToken"],
            },
        ).get_caller_identity()
        assert ident["Account"] == account
        # The session named in AssumeRole, as AWS answers for assumed-role credentials.
        assert ident["Arn"] == f"arn:aws:sts::{account}:assumed-role/{ROLE}/verify-session"
        assert ident["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"]


def test_assume_role_default_duration_is_an_hour(aws, accounts):
    out = aws.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{accounts[1]}:role/{ROLE}", RoleSessionName="verify-session"
    )
    left = (out["Credentials"]["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 3500 <= left <= 3700, left


def test_assume_role_refusals(aws, accounts):
    sts = aws.client("sts")
    # A role the member does not have, and an account outside the organization.
    for arn in (
        f"arn:aws:iam::{accounts[1]}:role/SomeOtherRole",
        f"arn:aws:iam::999999999999:role/{ROLE}",
    ):
        with pytest.raises(ClientError) as e:
            sts.assume_role(RoleArn=arn, RoleSessionName="verify-session")
        assert error(e) == ("AccessDenied", 403)
        assert "sts:AssumeRole" in e.value.response["Error"]["Message"]
    # Constraint violations that botocore would refuse before sending: the server's own.
    raw = aws.client("sts", validate=False)
    for kwargs in (
        {"RoleArn": "arn:aws:iam::1:r", "RoleSessionName": "verify-session"},
        {"RoleArn": f"arn:aws:iam::{accounts[1]}:role/{ROLE}", "RoleSessionName": "x"},
        {"RoleArn": f"arn:aws:iam::{accounts[1]}:role/{ROLE}", "RoleSessionName": "ok-name", "DurationSeconds": 60},
    ):
        with pytest.raises(ClientError) as e:
            raw.assume_role(**kwargs)
        assert error(e) == ("ValidationError", 400), kwargs
