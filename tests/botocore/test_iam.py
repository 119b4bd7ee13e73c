"""IAM Organizations access reports (awsQuery XML): GenerateOrganizationsAccessReport and
GetOrganizationsAccessReport, read by botocore, and the exporter's aws_iam_org_access_report_*
series compared with the very jobs the exporter generated.

A report job is state in the simulator (numbered in order of generation, answering IN_PROGRESS to
its first polls), so this module has a simulator of its own: the exporter runs first (`run`, the
daemon, since `collect --once` only generates a job) until it shows a completed report for each
entity path; botocore then reads the jobs the exporter logged, finds the one whose completion
time the exporter shows, and compares; then it generates jobs of its own. The exporter's
interval is a few seconds (its first run is jittered within the interval), so it may have
generated a newer job meanwhile: hence the matching by completion time.
"""

import json
import os
import subprocess
import tempfile
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import BINARY, ROLE, Aws, SimProcess
from exposition import Exposition

SEED = 5


def error(e):
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def read_report(iam, job_id, page=None, **kw):
    """Every page of a job (IsTruncated / Marker), the first page's fields and the details."""
    first, details, pages, marker = None, [], 0, None
    while True:
        args = dict(kw, JobId=job_id)
        if page:
            args["MaxItems"] = page
        if marker:
            args["Marker"] = marker
        out = iam.get_organizations_access_report(**args)
        pages += 1
        first = first or out
        details += out.get("AccessDetails", [])
        if not out["IsTruncated"]:
            assert "Marker" not in out
            return first, details, pages
        marker = out["Marker"]


@pytest.fixture(scope="module")
def world(checker):
    sim = SimProcess("--seed", SEED, "--accounts", 5)
    aws = Aws(sim.url, checker)
    orgs = aws.client("organizations")
    org_id = orgs.describe_organization()["Organization"]["Id"]
    root = orgs.list_roots()["Roots"][0]["Id"]
    ou = orgs.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"][0]["Id"]
    paths = [f"{org_id}/{root}", f"{org_id}/{root}/{ou}"]
    yield aws, paths
    sim.stop()


@pytest.fixture(scope="module")
def exporter_run(world):
    """Runs the exporter until it shows a completed report for each path; returns (Exposition,
    {path: [job ids it generated]})."""
    aws, paths = world
    cfg = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    cfg.write(
        f"""
listen: 127.0.0.1:0
aws:
  region: us-east-1
  endpoint_url: "{aws.url}"
  max_attempts: 2
targets:
  - name: org
    discover: organizations
    role_name: {ROLE}
    regions: [us-east-1]
collectors:
  config_recorder: {{enabled: false}}
  config_org_rules: {{enabled: false}}
  config_aggregators: {{enabled: false}}
  guardduty: {{enabled: false}}
  iam_access_report: {{interval: 3s, poll_interval: 1s, entity_paths: [{", ".join(paths)}]}}
"""
    )
    cfg.close()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIAVERIFYEXPORTER01", AWS_SECRET_ACCESS_KEY="verify-secret")
    log = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(
        [BINARY, "--log-format", "json", "--config", cfg.name], stdout=subprocess.DEVNULL, stderr=log, env=env, text=True
    )
    try:
        deadline = time.monotonic() + 60
        addr, exp = None, None
        while time.monotonic() < deadline:
            time.sleep(0.5)
            log.seek(0)
            for line in log:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                f = rec.get("fields", {})
                if f.get("message") == "serving /metrics":
                    addr = f["addr"]
            if not addr:
                continue
            text = urllib.request.urlopen(f"http://{addr}/metrics", timeout=5).read().decode()
            exp = Exposition(text)
            done = [exp.get("aws_iam_org_access_report_completion_timestamp_seconds", entity_path=p) for p in paths]
            if None not in done:
                break
        else:
            log.seek(0)
            pytest.fail(f"the exporter's jobs did not complete within 60 s:\n{log.read()[-4000:]}")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        os.unlink(cfg.name)
    assert proc.returncode == 0
    jobs = {p: [] for p in paths}
    log.seek(0)
    for line in log:
        f = json.loads(line).get("fields", {}) if line.startswith("{") else {}
        if "job_id" in f and "generated" in f.get("message", ""):
            jobs[f["entity_path"]].append(f["job_id"])
    assert all(jobs.values()), jobs
    return exp, jobs


def test_the_exporter_shows_the_reports_of_its_jobs(world, exporter_run):
    aws, paths = world
    exp, jobs = exporter_run
    iam = aws.client("iam")
    for path in paths:
        states = exp.state_set("aws_iam_org_access_report_job_status", entity_path=path)
        assert len(states) == 1 and list(states.values()) == [1], states
        assert set(states) <= {"COMPLETED", "FAILED", "IN_PROGRESS"}, states
        completion = exp.get("aws_iam_org_access_report_completion_timestamp_seconds", entity_path=path)
        shown = None
        for job in jobs[path]:
            out = iam.get_organizations_access_report(JobId=job)
            if out["JobStatus"] == "COMPLETED" and abs(out["JobCompletionDate"].timestamp() - completion) <= 1e-3:
                shown = job
        assert shown, f"no job of {path} completed at {completion}: {jobs[path]}"
        first, details, pages = read_report(iam, shown)
        assert first["JobStatus"] == "COMPLETED"
        assert pages > 1, "the report spans several pages"
        assert len(details) == first["NumberOfServicesAccessible"]
        never = [d for d in details if "LastAuthenticatedTime" not in d]
        assert len(never) == first["NumberOfServicesNotAccessed"]
        assert exp.get("aws_iam_org_access_report_services_accessible", entity_path=path) == first[
            "NumberOfServicesAccessible"
        ]
        assert exp.get("aws_iam_org_access_report_services_not_accessed", entity_path=path) == first[
            "NumberOfServicesNotAccessed"
        ]
        last = {
            l["service_namespace"]: v
            for l, v in exp.series(
                "aws_iam_org_access_report_service_last_authenticated_timestamp_seconds", entity_path=path
            )
        }
        entities = {
            l["service_namespace"]: v
            for l, v in exp.series("aws_iam_org_access_report_service_authenticated_entities", entity_path=path)
        }
        accessed = [d for d in details if "LastAuthenticatedTime" in d]
        assert accessed and never
        assert {d["ServiceNamespace"]: d["LastAuthenticatedTime"].timestamp() for d in accessed} == last
        # Every listed service has an entity count; one never accessed carries none and shows 0.
        assert entities == {d["ServiceNamespace"]: d.get("TotalAuthenticatedEntities", 0) for d in details}


def test_generate_poll_and_page_a_report(world, exporter_run):
    aws, paths = world
    iam = aws.client("iam")
    job = iam.generate_organizations_access_report(EntityPath=paths[0])["JobId"]
    assert len(job) == 36
    statuses = []
    for _ in range(10):
        out = iam.get_organizations_access_report(JobId=job)
        statuses.append(out["JobStatus"])
        if out["JobStatus"] != "IN_PROGRESS":
            break
        assert "JobCompletionDate" not in out and "AccessDetails" not in out
    assert statuses[0] == "IN_PROGRESS" and statuses[-1] == "COMPLETED"
    first, details, pages = read_report(iam, job, page=7)
    assert pages == -(-first["NumberOfServicesAccessible"] // 7)
    assert first["JobCreationDate"] < first["JobCompletionDate"]
    names = [d["ServiceNamespace"] for d in details]
    assert names == sorted(names)
    for d in details:
        assert d["ServiceName"]
        if "LastAuthenticatedTime" in d:
            assert d["EntityPath"].startswith(paths[0])
            assert d["TotalAuthenticatedEntities"] >= 1
            assert d["Region"] in ("us-east-1", "eu-west-1")
        else:
            assert "TotalAuthenticatedEntities" not in d
    _, desc, _ = read_report(iam, job, page=9, SortKey="SERVICE_NAMESPACE_DESCENDING")
    assert [d["ServiceNamespace"] for d in desc] == names[::-1]
    _, by_time, _ = read_report(iam, job, SortKey="LAST_AUTHENTICATED_TIME_DESCENDING")
    times = [d["LastAuthenticatedTime"] for d in by_time if "LastAuthenticatedTime" in d]
    assert times == sorted(times, reverse=True)


def test_a_failed_job_says_why(world, exporter_run):
    aws, paths = world
    iam = aws.client("iam")
    # Every fourth job of the simulator fails: generate until one has.
    for _ in range(4):
        job = iam.generate_organizations_access_report(EntityPath=paths[1])["JobId"]
        out = {"JobStatus": "IN_PROGRESS"}
        while out["JobStatus"] == "IN_PROGRESS":
            out = iam.get_organizations_access_report(JobId=job)
        if out["JobStatus"] == "FAILED":
            break
    assert out["JobStatus"] == "FAILED"
    assert out["ErrorDetails"]["Code"] and out["ErrorDetails"]["Message"]
    assert "JobCompletionDate" in out and "AccessDetails" not in out


def test_errors(world, exporter_run):
    aws, paths = world
    iam = aws.client("iam")
    raw = aws.client("iam", validate=False)
    with pytest.raises(ClientError) as e:
        iam.get_organizations_access_report(JobId="0" * 36)
    assert error(e) == ("NoSuchEntity", 404)
    assert isinstance(e.value, iam.exceptions.NoSuchEntityException)
    # A job of another account is not found either.
    member = aws.client("organizations").list_accounts()["Accounts"][1]["Id"]
    job = iam.generate_organizations_access_report(EntityPath=paths[0])["JobId"]
    with pytest.raises(ClientError) as e:
        aws.client("iam", account=member).get_organizations_access_report(JobId=job)
    assert error(e) == ("NoSuchEntity", 404)
    for kw in ({"JobId": "short"}, {"JobId": job, "MaxItems": 0}, {"JobId": job, "SortKey": "BROKEN"}):
        with pytest.raises(ClientError) as e:
            raw.get_organizations_access_report(**kw)
        assert error(e) == ("ValidationError", 400), kw
    with pytest.raises(ClientError) as e:
        iam.get_organizations_access_report(JobId=job, Marker="forged")
    assert error(e) == ("InvalidInput", 400)
    for path in ("o-a1b2c3d4e5/r-f6g7", "not-an-entity-path-at-all"):
        with pytest.raises(ClientError) as e:
            iam.generate_organizations_access_report(EntityPath=path)
        assert error(e)[1] == 400
    # Too many jobs in progress for the account.
    with pytest.raises(ClientError) as e:
        for _ in range(10):
            iam.generate_organizations_access_report(EntityPath=paths[0])
    assert error(e) == ("ReportGenerationLimitExceeded", 409)
    assert isinstance(e.value, iam.exceptions.ReportGenerationLimitExceededException)
