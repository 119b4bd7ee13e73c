"""Fixtures of the botocore suite: the simulator as a process, boto3 clients on it (management
and assumed member credentials, every answer wire-checked), and what the exporter exports for
the same seed.

The simulator's data is a pure function of its seed, so the exporter's `collect --once` run and
the boto3 calls may happen in any order: neither disturbs what the other reads (IAM report jobs,
the one stateful part, are tested with a simulator of their own).
"""

import os
import pathlib
import subprocess
import sys
import time

import boto3
import pytest
from botocore.config import Config

sys.path.insert(0, os.path.dirname(__file__))

from exposition import collect_once  # noqa: E402
from wirecheck import WireChecker  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("POSTURE_BIN") or str(ROOT / "target" / "debug" / "posture-exporter")

SEED = 11
MEMBERS = 24  # 25 accounts: more than one ListAccounts page of 20
REGIONS = ["us-east-1", "eu-west-1"]
ROLE = "PostureExporterReadOnly"
MGMT_KEY = "AKIAVERIFYBOTOCORE01"  # any key the simulator did not issue is the management account
MEMBER_STATUSES = [
    "CREATE_SUCCESSFUL",
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "DELETE_SUCCESSFUL",
    "DELETE_FAILED",
    "DELETE_IN_PROGRESS",
    "UPDATE_SUCCESSFUL",
    "UPDATE_IN_PROGRESS",
    "UPDATE_FAILED",
]


class SimProcess:
    """`posture-exporter simulate` on an ephemeral loopback port."""

    def __init__(self, *extra):
        if not os.access(BINARY, os.X_OK):
            raise RuntimeError(f"{BINARY} is not built: run `cargo build` first")
        self.proc = subprocess.Popen(
            [BINARY, "simulate", "--listen", "127.0.0.1:0", *map(str, extra)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("simulated AWS at "):
            self.stop()
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.url = line.split(" at ", 1)[1].strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Aws:
    """boto3 clients on one simulator: as the management account, or as a member through
    AssumeRole, in any region."""

    def __init__(self, url, checker):
        self.url = url
        self.checker = checker
        self._creds = {}

    def client(self, service, region="us-east-1", account=None, validate=True, attempts=1, creds=None):
        if creds is None:
            creds = self.credentials(account) if account else None
        if creds is None:
            creds = {"aws_access_key_id": MGMT_KEY, "aws_secret_access_key": "verify-secret"}
        c = boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            config=Config(
                parameter_validation=validate,
                retries={"mode": "standard", "total_max_attempts": attempts},
            ),
            **creds,
        )
        return self.checker.attach(c)

    def credentials(self, account):
        """Credentials of `account` from AssumeRole; None for the management account (its own)."""
        if account not in self._creds:
            sts = self.client("sts")
            if account == sts.get_caller_identity()["Account"]:
                self._creds[account] = None
            else:
                c = sts.assume_role(
                    RoleArn=f"arn:aws:iam::{account}:role/{ROLE}",
                    RoleSessionName="botocore-verify",
                )["Credentials"]
                self._creds[account] = {
                    "aws_access_key_id": c["AccessKeyId"],
                    "aws_secret_access_key": c["SecretAccessKey"],
                    "aws_session_token": c["SessionToken"],
                }
        return self._creds[account]


@pytest.fixture(scope="session")
def checker():
    return WireChecker()


@pytest.fixture(autouse=True)
def wire_is_clean(checker):
    """Fails a test during which any answer departed from AWS's service model."""
    checker.take()
    yield
    problems = checker.take()
    assert not problems, "wire departures from the service models:\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def sim():
    s = SimProcess("--seed", SEED, "--accounts", MEMBERS)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def aws(sim, checker):
    return Aws(sim.url, checker)


@pytest.fixture(scope="session")
def accounts(aws):
    """Every account id, the management account first (as ListAccounts lists them)."""
    pages = aws.client("organizations").get_paginator("list_accounts").paginate()
    return [a["Id"] for p in pages for a in p["Accounts"]]


@pytest.fixture(scope="session")
def management(aws):
    return aws.client("organizations").describe_organization()["Organization"]["MasterAccountId"]


def exporter_config(url, extra_collectors=""):
    statuses = ", ".join(MEMBER_STATUSES)
    return f"""
aws:
  region: us-east-1
  endpoint_url: "{url}"
  max_attempts: 2
targets:
  - name: org
    discover: organizations
    role_name: {ROLE}
    regions: [{", ".join(REGIONS)}]
collectors:
  config_recorder: {{interval: 5m}}
  config_org_rules: {{interval: 10m, detail_statuses: [{statuses}]}}
  config_org_conformance_packs: {{interval: 10m, detail_statuses: [{statuses}]}}
  config_aggregators: {{interval: 10m, regions: [{", ".join(REGIONS)}]}}
  guardduty: {{interval: 5m}}
  iam_access_report: {{enabled: false}}
{extra_collectors}"""


@pytest.fixture(scope="session")
def exported(sim, tmp_path_factory):
    """What `collect --once` exports for the simulator's organization."""
    cfg = tmp_path_factory.mktemp("exporter") / "config.yaml"
    cfg.write_text(exporter_config(sim.url))
    start = time.monotonic()
    code, exp, _, stderr = collect_once(
        BINARY,
        cfg,
        {"AWS_ACCESS_KEY_ID": "AKIAVERIFYEXPORTER01", "AWS_SECRET_ACCESS_KEY": "verify-secret"},
    )
    assert code == 0, f"collect --once failed ({code}) after {time.monotonic() - start:.1f}s:\n{stderr[-4000:]}"
    down = [l for l, v in exp.series("posture_exporter_collector_up") if v != 1]
    assert not down, f"collectors down: {down}"
    return exp
