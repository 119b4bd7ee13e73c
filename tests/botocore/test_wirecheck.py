"""The wire checker itself: it must catch what botocore forgives, or the suite's clean bill of
health means nothing. Each case feeds it one crafted answer."""

import json

import botocore.session
import pytest

from wirecheck import WireChecker

SESSION = botocore.session.get_session()


class Answer:
    def __init__(self, status, content_type, body, headers=None):
        self.status_code = status
        self.headers = {"Content-Type": content_type, **(headers or {})}
        self.content = body.encode() if isinstance(body, str) else body


def check(service, op, answer, request_id="r-1"):
    c = WireChecker()
    model = SESSION.get_service_model(service).operation_model(op)
    c._after_call(http_response=answer, parsed={"ResponseMetadata": {"RequestId": request_id}}, model=model)
    return c.take()


JSON = "application/x-amz-json-1.1"
GOOD_STATUS = {
    "ConfigurationRecordersStatus": [
        {"name": "default", "recording": True, "lastStatus": "Success", "lastStatusChangeTime": 1763000000.5}
    ]
}


def status_answer(**change):
    doc = json.loads(json.dumps(GOOD_STATUS))
    doc["ConfigurationRecordersStatus"][0].update(change)
    return Answer(200, JSON, json.dumps(doc))


def test_a_clean_answer_passes():
    assert check("config", "DescribeConfigurationRecorderStatus", status_answer()) == []


@pytest.mark.parametrize(
    "answer,needle",
    [
        (status_answer(lastStatusChangeTime="2025-11-13T00:00:00Z"), "epoch seconds"),
        (status_answer(lastStatus="SUCCESS"), "is not one of"),
        (status_answer(recording="true"), "not a boolean"),
        (status_answer(lastStatusTime=1.0), "no such member"),
        (Answer(200, "application/json", json.dumps(GOOD_STATUS)), "Content-Type"),
        (
            Answer(400, JSON, json.dumps({"__type": "NoSuchRecorder", "message": "x"})),
            "neither modeled",
        ),
        (
            Answer(
                500, JSON, json.dumps({"__type": "NoSuchConfigurationRecorderException", "message": "x"})
            ),
            "comes with HTTP 500",
        ),
    ],
)
def test_departures_are_caught(answer, needle):
    problems = check("config", "DescribeConfigurationRecorderStatus", answer)
    assert any(needle in p for p in problems), problems


def test_a_missing_request_id_is_caught():
    assert any("request id" in p for p in check("config", "DescribeConfigurationRecorderStatus", status_answer(), None))


def test_query_xml_is_checked_too():
    ns = "https://sts.amazonaws.com/doc/2011-06-15/"
    good = (
        f'<GetCallerIdentityResponse xmlns="{ns}"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/x</Arn>'
        "<UserId>AIDA1</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
        "<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    )
    assert check("sts", "GetCallerIdentity", Answer(200, "text/xml", good)) == []
    wrong_ns = good.replace(ns, "https://sts.amazonaws.com/doc/2011-06-14/")
    assert any("namespace" in p for p in check("sts", "GetCallerIdentity", Answer(200, "text/xml", wrong_ns)))
    extra = good.replace("<Account>", "<AccountId>1</AccountId><Account>")
    assert any("no such member" in p for p in check("sts", "GetCallerIdentity", Answer(200, "text/xml", extra)))
    ts = (
        f'<GetOrganizationsAccessReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<GetOrganizationsAccessReportResult><JobStatus>COMPLETED</JobStatus>"
        "<JobCreationDate>1763000000</JobCreationDate></GetOrganizationsAccessReportResult>"
        "<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetOrganizationsAccessReportResponse>"
    )
    problems = check("iam", "GetOrganizationsAccessReport", Answer(200, "text/xml", ts))
    assert any("ISO 8601" in p for p in problems), problems
