"""Fixtures of the moto suite: moto_server on a loopback port, populated through boto3, and the
exporter's `collect --once` runs against it.

moto keeps one state per server process, so the server is started once for the module, filled
once, and only read afterwards (by the exporter and by boto3).
"""

import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "botocore"))

from exposition import collect_once  # noqa: E402,F401  (re-exported for the tests)

ROOT = HERE.parents[1]
BINARY = os.environ.get("POSTURE_BIN") or str(ROOT / "target" / "debug" / "posture-exporter")
REGIONS = ["us-east-1", "eu-west-1"]
ROLE = "PostureExporterReadOnly"
# moto's default account answers the keys it did not issue.
CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """moto_server and boto3 clients on it, as the management account or a member."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2).read()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.2)
        self._member = {}

    def client(self, service, region="us-east-1", account=None):
        creds = self.member_credentials(account) if account else CREDS
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
            **creds,
        )

    def member_credentials(self, account):
        """Credentials of `account` through the role the exporter assumes (moto tells the
        account of assumed-role keys from the role ARN)."""
        if account not in self._member:
            c = self.client("sts").assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="moto-verify"
            )["Credentials"]
            self._member[account] = {
                "aws_access_key_id": c["AccessKeyId"],
                "aws_secret_access_key": c["SecretAccessKey"],
                "aws_session_token": c["SessionToken"],
            }
        return self._member[account]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def recorder(cfg, name, start=True, stop=False):
    cfg.put_configuration_recorder(
        ConfigurationRecorder={
            "name": name,
            "roleARN": "arn:aws:iam::123456789012:role/config-role",
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": False},
        }
    )
    if start or stop:
        cfg.put_delivery_channel(DeliveryChannel={"name": f"{name}-channel", "s3BucketName": "config-bucket"})
        cfg.start_configuration_recorder(ConfigurationRecorderName=name)
    if stop:
        cfg.stop_configuration_recorder(ConfigurationRecorderName=name)


@pytest.fixture(scope="session")
def moto():
    m = Moto()
    yield m
    m.stop()


@pytest.fixture(scope="session")
def world(moto):
    """Fills moto: an organization of the management account and three members (one in an OU),
    recorders recording, stopped and never started in two regions, GuardDuty detectors enabled
    and disabled in two regions, and an aggregator. Returns the facts the tests need."""
    orgs = moto.client("organizations")
    org = orgs.create_organization(FeatureSet="ALL")["Organization"]
    members = [
        orgs.create_account(AccountName=f"member-{i}", Email=f"member-{i}@example.com")["CreateAccountStatus"][
            "AccountId"
        ]
        for i in (1, 2, 3)
    ]
    root = orgs.list_roots()["Roots"][0]["Id"]
    ou = orgs.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    orgs.move_account(AccountId=members[2], SourceParentId=root, DestinationParentId=ou)
    mgmt = org["MasterAccountId"]

    recorder(moto.client("config", "us-east-1"), "default")
    recorder(moto.client("config", "eu-west-1"), "regional", stop=True)
    recorder(moto.client("config", "us-east-1", members[0]), "never-started", start=False)
    recorder(moto.client("config", "eu-west-1", members[0]), "member-recorder")

    detectors = {
        (mgmt, "us-east-1"): moto.client("guardduty", "us-east-1").create_detector(Enable=True)["DetectorId"],
        (members[0], "eu-west-1"): moto.client("guardduty", "eu-west-1", members[0]).create_detector(Enable=False)[
            "DetectorId"
        ],
        (members[1], "us-east-1"): moto.client("guardduty", "us-east-1", members[1]).create_detector(
            Enable=True, FindingPublishingFrequency="FIFTEEN_MINUTES"
        )["DetectorId"],
    }
    # A suppression rule without a severity condition (it can archive high-severity findings).
    moto.client("guardduty", "us-east-1").create_filter(
        DetectorId=detectors[(mgmt, "us-east-1")],
        Name="moto-archive-scanner",
        Action="ARCHIVE",
        FindingCriteria={"Criterion": {"type": {"Equals": ["Recon:EC2/PortProbeUnprotectedPort"]}}},
    )
    # A trusted IP list, activated (moto serves the IP set operations since 5.2).
    ip_set = moto.client("guardduty", "us-east-1").create_ip_set(
        DetectorId=detectors[(mgmt, "us-east-1")],
        Name="moto-trusted-ips",
        Format="TXT",
        Location="s3://moto-lists/trusted.txt",
        Activate=True,
    )["IpSetId"]
    moto.client("config", "us-east-1").put_configuration_aggregator(
        ConfigurationAggregatorName="moto-aggregator",
        AccountAggregationSources=[{"AccountIds": [mgmt, *members], "AllAwsRegions": True}],
    )
    moto.client("config", "us-east-1").put_organization_conformance_pack(
        OrganizationConformancePackName="org-moto-pack",
        TemplateS3Uri="s3://moto-templates/pack.yaml",
    )
    return {
        "org_pack": "org-moto-pack",
        "org_id": org["Id"],
        "management": mgmt,
        "members": members,
        "root": root,
        "ou": ou,
        "detectors": detectors,
        "filter": "moto-archive-scanner",
        "ip_set": ip_set,
        "aggregator_region": "us-east-1",
    }


def exporter_config(url, collectors, target_extra=""):
    return f"""
aws:
  region: us-east-1
  endpoint_url: "{url}"
  max_attempts: 1
targets:
  - name: org
    discover: organizations
    role_name: {ROLE}
    regions: [{", ".join(REGIONS)}]
{target_extra}
collectors:
{collectors}
"""


@pytest.fixture(scope="session")
def run_exporter(moto, world, tmp_path_factory):
    """Runs `collect --once` against moto with the given collectors section."""
    d = tmp_path_factory.mktemp("exporter")
    n = [0]

    def run(collectors, target_extra=""):
        n[0] += 1
        cfg = d / f"config-{n[0]}.yaml"
        cfg.write_text(exporter_config(moto.url, collectors, target_extra))
        return collect_once(
            BINARY,
            cfg,
            {"AWS_ACCESS_KEY_ID": CREDS["aws_access_key_id"], "AWS_SECRET_ACCESS_KEY": CREDS["aws_secret_access_key"]},
        )

    return run
