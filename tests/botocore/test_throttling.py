"""Throttling, per protocol: a simulator started with `--rate-limit` answers each protocol's
throttling error, which botocore must recognise as throttling (its standard retry mode then
retries it, and the call succeeds)."""

import pytest
from botocore.exceptions import ClientError
from botocore.retries.standard import ThrottledRetryableChecker

from conftest import Aws, SimProcess

CASES = [
    # (service, call, code, HTTP status) — each protocol's throttling error as AWS sends it.
    ("config", lambda c: c.describe_configuration_recorders(), "ThrottlingException", 400),
    ("organizations", lambda c: c.list_roots(), "ThrottlingException", 400),
    ("guardduty", lambda c: c.list_detectors(), "TooManyRequestsException", 429),
    ("sts", lambda c: c.get_caller_identity(), "Throttling", 400),
    ("iam", lambda c: c.get_organizations_access_report(JobId="0" * 36), "Throttling", 400),
]


@pytest.fixture(scope="module")
def limited(checker):
    s = SimProcess("--seed", 3, "--accounts", 2, "--rate-limit", 1)
    yield Aws(s.url, checker)
    s.stop()


@pytest.mark.parametrize("service,call,code,status", CASES, ids=[c[0] for c in CASES])
def test_throttling_error_and_retry(limited, service, call, code, status):
    client = limited.client(service)
    throttled = None
    for _ in range(10):
        try:
            call(client)
        except ClientError as e:
            if e.response["Error"]["Code"] not in ("NoSuchEntity",):
                throttled = e
                break
    assert throttled is not None, "ten calls in a row at 1 a second were never throttled"
    r = throttled.response
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
    assert code in ThrottledRetryableChecker._THROTTLED_ERROR_CODES
    if service != "iam":
        # botocore's standard mode retries it with backoff until the bucket refills.
        patient = limited.client(service, attempts=10)
        out = call(patient)
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
