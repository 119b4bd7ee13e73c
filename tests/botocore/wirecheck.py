"""Strict wire check of every answer the simulator gives botocore, against AWS's service models.

botocore parses leniently: it drops a member whose name it does not know, takes a string where the
model says number, reads a timestamp from epoch seconds or ISO text alike. The AWS SDK for Rust is
not that forgiving (awsJson timestamps must be numbers, enum and structure shapes are strict), and
a misspelt field that botocore silently drops would only show as a missing value. So this module
hooks botocore's ``after-call`` event and walks the raw body of every answer against the
operation's output shape (or, for an error, its error shape) from the same models botocore parses
with, and records every departure:

- a member the model does not define, or a required member missing;
- a value of the wrong JSON type or XML text, a string or number outside its min/max, an enum
  value the model does not list;
- a timestamp in the wrong format for the protocol (awsJson/restJson: epoch seconds as a number
  unless the member says otherwise; awsQuery: ISO 8601 text);
- the wrong Content-Type, no request id (or, in awsQuery, a header id that differs from the
  body's), the wrong XML root, namespace or result wrapper;
- an error code that the service does not define (for this operation or another) and that is not
  one of AWS's common errors, or an HTTP status that differs from the one the model (or AWS's
  common-error table) gives the code.

The suite's autouse fixture fails any test during which a problem was recorded.
"""

import datetime
import json
import re
import xml.etree.ElementTree as ET

# AWS's common errors (not modeled per operation) and the HTTP status each comes with, per
# protocol family. Sources: the "Common Errors" pages of the Config, Organizations, GuardDuty,
# STS and IAM API references.
COMMON_JSON_ERRORS = {
    "AccessDeniedException": {400, 403},
    "IncompleteSignature": {400},
    "InternalFailure": {500},
    "InvalidAction": {400},
    "InvalidClientTokenId": {403},
    "MissingAuthenticationTokenException": {403},
    "NotAuthorized": {400},
    "OptInRequired": {403},
    "RequestExpired": {400},
    "ServiceUnavailable": {503},
    "ThrottlingException": {400},
    "ValidationException": {400},
    "UnknownOperationException": {400, 404},
    "SerializationException": {400},
    "ExpiredTokenException": {400, 403},
    "UnrecognizedClientException": {400},
}
COMMON_REST_JSON_ERRORS = dict(COMMON_JSON_ERRORS, TooManyRequestsException={429})
COMMON_QUERY_ERRORS = {
    "AccessDenied": {403},
    "IncompleteSignature": {400},
    "InternalFailure": {500},
    "InvalidAction": {400},
    "InvalidClientTokenId": {403},
    "MissingAuthenticationToken": {403},
    "OptInRequired": {403},
    "RequestExpired": {400},
    "ServiceUnavailable": {503},
    "Throttling": {400},
    "ValidationError": {400},
    "ExpiredToken": {400, 403},
}

CONTENT_TYPES = {
    "json": "application/x-amz-json-1.1",
    "rest-json": "application/json",
    "query": "text/xml",
}

# Required output members that AWS's documentation says are left out in some answers; the model's
# `required` is then not the wire truth. GetAdministratorAccount: "When the GuardDuty
# administrator account runs this API, it will return success (HTTP 200) but no content", and
# the same for an account that is not in an organization.
DOCUMENTED_ABSENT = {("guardduty", "GetAdministratorAccount", "$", "administrator")}

ISO8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _ns(tag):
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else None


class WireChecker:
    """Collects wire problems of every call made by the clients it is attached to."""

    def __init__(self):
        self.problems = []
        self.calls = {}
        self.answered = set()

    def attach(self, client):
        client.meta.events.register("after-call", self._after_call)
        return client

    def take(self):
        """The problems recorded since the last take."""
        p, self.problems = self.problems, []
        return p

    # -- the hook -------------------------------------------------------------------------

    def _after_call(self, http_response, parsed, model, **_):
        svc = model.service_model
        protocol = svc.protocol
        where = f"{svc.service_name}.{model.name}"
        self.calls[where] = self.calls.get(where, 0) + 1
        status = http_response.status_code
        if status < 300:
            self.answered.add(where)
        body = http_response.content or b""
        headers = {k.lower(): v for k, v in http_response.headers.items()}
        problems = []
        ctype = headers.get("content-type", "").split(";")[0].strip()
        if ctype != CONTENT_TYPES[protocol]:
            problems.append(f"Content-Type {ctype!r}, AWS sends {CONTENT_TYPES[protocol]!r}")
        if not parsed.get("ResponseMetadata", {}).get("RequestId"):
            problems.append("no request id (x-amzn-RequestId header or ResponseMetadata)")
        try:
            if status >= 300:
                self._check_error(problems, model, protocol, status, headers, body)
            elif protocol in ("json", "rest-json"):
                self._check_json_output(problems, model, protocol, body)
            else:
                self._check_query_output(problems, model, body)
            if protocol == "query" and "x-amzn-requestid" in headers:
                in_body = re.search(rb"<RequestId>([^<]*)</RequestId>", body)
                if in_body and in_body.group(1).decode() != headers["x-amzn-requestid"]:
                    problems.append(
                        f"x-amzn-RequestId {headers['x-amzn-requestid']} differs from the body's RequestId "
                        f"{in_body.group(1).decode()} (AWS sends one id)"
                    )
        except Exception as e:  # a body that cannot be read at all is a problem, not a crash
            problems.append(f"unreadable body ({e!r}): {body[:200]!r}")
        for p in problems:
            self.problems.append(f"{where} (HTTP {status}): {p}")

    # -- JSON -------------------------------------------------------------------------------

    def _check_json_output(self, problems, model, protocol, body):
        shape = model.output_shape
        if shape is None:
            if body.strip() not in (b"", b"{}"):
                problems.append(f"the operation has no output but the body is {body[:100]!r}")
            return
        value = json.loads(body) if body.strip() else {}
        payload = shape.serialization.get("payload")
        if protocol == "rest-json" and payload:
            shape = shape.members[payload]
        self._absent_ok = {
            (p, m) for svc, op, p, m in DOCUMENTED_ABSENT if (svc, op) == (model.service_model.service_name, model.name)
        }
        self._json(problems, "$", value, shape, protocol)

    _absent_ok = frozenset()

    def _json(self, problems, path, value, shape, protocol):
        t = shape.type_name
        if value is None:
            problems.append(f"{path}: null (AWS leaves absent members out)")
            return
        if t == "structure":
            if not isinstance(value, dict):
                problems.append(f"{path}: {type(value).__name__}, model says structure")
                return
            by_wire = {}
            for name, m in shape.members.items():
                loc = m.serialization.get("location")
                if protocol == "rest-json" and loc in (
                    "header",
                    "headers",
                    "statusCode",
                    "uri",
                    "querystring",
                ):
                    continue
                by_wire[m.serialization.get("name", name)] = (name, m)
            for k, v in value.items():
                if k not in by_wire:
                    problems.append(f"{path}.{k}: no such member in {shape.name}")
                    continue
                self._json(problems, f"{path}.{k}", v, by_wire[k][1], protocol)
            wire_of = {n: w for w, (n, _) in by_wire.items()}
            for req in shape.required_members:
                if req in wire_of and wire_of[req] not in value and (path, wire_of[req]) not in self._absent_ok:
                    problems.append(f"{path}: required member {wire_of[req]} missing")
        elif t == "list":
            if not isinstance(value, list):
                problems.append(f"{path}: {type(value).__name__}, model says list")
                return
            self._bounds(problems, path, len(value), shape, "length")
            for i, v in enumerate(value):
                self._json(problems, f"{path}[{i}]", v, shape.member, protocol)
        elif t == "map":
            if not isinstance(value, dict):
                problems.append(f"{path}: {type(value).__name__}, model says map")
                return
            for k, v in value.items():
                self._scalar_string(problems, f"{path} key {k!r}", k, shape.key)
                self._json(problems, f"{path}[{k!r}]", v, shape.value, protocol)
        elif t == "string":
            if not isinstance(value, str):
                problems.append(f"{path}: {value!r} is not a string")
                return
            self._scalar_string(problems, path, value, shape)
        elif t in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(f"{path}: {value!r} is not an integer")
                return
            self._bounds(problems, path, value, shape, "value")
        elif t in ("double", "float"):
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or value in (
                "NaN",
                "Infinity",
                "-Infinity",
            )
            if not ok:
                problems.append(f"{path}: {value!r} is not a number")
        elif t == "boolean":
            if not isinstance(value, bool):
                problems.append(f"{path}: {value!r} is not a boolean")
        elif t == "timestamp":
            fmt = shape.serialization.get("timestampFormat", "unixTimestamp")
            self._timestamp(problems, path, value, fmt)
        elif t == "blob":
            if not isinstance(value, str):
                problems.append(f"{path}: blob must be base64 text")
        else:
            problems.append(f"{path}: unexpected shape type {t}")

    def _scalar_string(self, problems, path, value, shape):
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.name} {shape.enum}")
        self._bounds(problems, path, len(value), shape, "length")

    @staticmethod
    def _bounds(problems, path, n, shape, what):
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        if lo is not None and n < lo:
            problems.append(f"{path}: {what} {n} below the model's min {lo} ({shape.name})")
        if hi is not None and n > hi:
            problems.append(f"{path}: {what} {n} above the model's max {hi} ({shape.name})")

    @staticmethod
    def _timestamp(problems, path, value, fmt):
        if fmt == "unixTimestamp":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{path}: timestamp {value!r} must be epoch seconds as a number")
        elif fmt == "iso8601":
            if not (isinstance(value, str) and ISO8601.match(value)):
                problems.append(f"{path}: timestamp {value!r} must be ISO 8601 text")
        elif fmt == "rfc822":
            try:
                datetime.datetime.strptime(value, "%a, %d %b %Y %H:%M:%S GMT")
            except (TypeError, ValueError):
                problems.append(f"{path}: timestamp {value!r} must be RFC 822 text")

    # -- awsQuery XML -----------------------------------------------------------------------

    def _check_query_output(self, problems, model, body):
        svc = model.service_model
        root = ET.fromstring(body)
        xmlns = svc.metadata.get("xmlNamespace")
        if _local(root.tag) != f"{model.name}Response":
            problems.append(f"root element {_local(root.tag)}, AWS sends {model.name}Response")
        if xmlns and _ns(root.tag) != xmlns:
            problems.append(f"namespace {_ns(root.tag)!r}, AWS sends {xmlns!r}")
        shape = model.output_shape
        wrapper = shape.serialization.get("resultWrapper") if shape is not None else None
        seen_meta = False
        for child in root:
            name = _local(child.tag)
            if name == "ResponseMetadata":
                seen_meta = True
                if not (child.findtext(f"{{{xmlns}}}RequestId") or child.findtext("RequestId")):
                    problems.append("ResponseMetadata without RequestId")
            elif wrapper and name == wrapper:
                self._xml(problems, name, child, shape)
            else:
                problems.append(f"unexpected element {name} under the root")
        if not seen_meta:
            problems.append("no ResponseMetadata")

    def _xml(self, problems, path, elem, shape):
        t = shape.type_name
        if t == "structure":
            by_wire = {m.serialization.get("name", n): (n, m) for n, m in shape.members.items()}
            present = set()
            for child in elem:
                name = _local(child.tag)
                if name not in by_wire:
                    problems.append(f"{path}.{name}: no such member in {shape.name}")
                    continue
                member = by_wire[name][1]
                if name in present and not member.serialization.get("flattened"):
                    problems.append(f"{path}.{name}: repeated")
                present.add(name)
                self._xml(problems, f"{path}.{name}", child, member)
            for req in shape.required_members:
                wire = shape.members[req].serialization.get("name", req)
                if wire not in present:
                    problems.append(f"{path}: required member {wire} missing")
        elif t == "list":
            item = shape.member.serialization.get("name", "member")
            items = list(elem)
            for i, child in enumerate(items):
                if _local(child.tag) != item:
                    problems.append(f"{path}[{i}]: element {_local(child.tag)}, expected {item}")
                self._xml(problems, f"{path}[{i}]", child, shape.member)
            self._bounds(problems, path, len(items), shape, "length")
        elif t == "map":
            for i, entry in enumerate(elem):
                if _local(entry.tag) != "entry":
                    problems.append(f"{path}[{i}]: element {_local(entry.tag)}, expected entry")
        else:
            if len(elem):
                problems.append(f"{path}: a scalar with child elements")
                return
            text = elem.text or ""
            if t == "string":
                self._scalar_string(problems, path, text, shape)
            elif t in ("integer", "long"):
                if not re.fullmatch(r"-?\d+", text):
                    problems.append(f"{path}: {text!r} is not an integer")
                else:
                    self._bounds(problems, path, int(text), shape, "value")
            elif t in ("double", "float"):
                try:
                    float(text)
                except ValueError:
                    problems.append(f"{path}: {text!r} is not a number")
            elif t == "boolean":
                if text not in ("true", "false"):
                    problems.append(f"{path}: {text!r} is not true/false")
            elif t == "timestamp":
                fmt = shape.serialization.get("timestampFormat", "iso8601")
                self._timestamp(problems, path, text, fmt)

    # -- errors -------------------------------------------------------------------------------

    def _check_error(self, problems, model, protocol, status, headers, body):
        modeled = {}
        for e in model.error_shapes:
            code = e.metadata.get("error", {}).get("code", e.name)
            modeled[code] = e
        if protocol == "query":
            root = ET.fromstring(body)
            if _local(root.tag) != "ErrorResponse":
                problems.append(f"error root {_local(root.tag)}, AWS sends ErrorResponse")
            xmlns = model.service_model.metadata.get("xmlNamespace")
            if xmlns and _ns(root.tag) != xmlns:
                problems.append(f"error namespace {_ns(root.tag)!r}, AWS sends {xmlns!r}")
            err = next((c for c in root if _local(c.tag) == "Error"), None)
            if err is None:
                problems.append("ErrorResponse without Error")
                return
            fields = {_local(c.tag): (c.text or "") for c in err}
            code = fields.get("Code", "")
            kind = fields.get("Type")
            if kind not in ("Sender", "Receiver"):
                problems.append(f"Error.Type {kind!r} is neither Sender nor Receiver")
            elif (kind == "Receiver") != (status >= 500):
                problems.append(f"Error.Type {kind} with HTTP {status}")
            if not any(_local(c.tag) == "RequestId" for c in root):
                problems.append("ErrorResponse without RequestId")
            common = COMMON_QUERY_ERRORS
        else:
            doc = json.loads(body) if body.strip() else {}
            raw = headers.get("x-amzn-errortype") or doc.get("__type") or doc.get("code") or ""
            code = raw.split(":")[0].rsplit("#", 1)[-1]
            if protocol == "rest-json" and "x-amzn-errortype" not in headers:
                problems.append("restJson error without the x-amzn-ErrorType header")
            if not any(k in doc for k in ("message", "Message")):
                problems.append("error body without a message")
            if code in modeled:
                extra = {k: v for k, v in doc.items() if k not in ("__type", "code")}
                shape = modeled[code]
                known = {m.serialization.get("name", n).lower() for n, m in shape.members.items()}
                for k in extra:
                    if k.lower() not in known | {"message"}:
                        problems.append(f"error member {k} is not in {shape.name}")
            common = COMMON_REST_JSON_ERRORS if protocol == "rest-json" else COMMON_JSON_ERRORS
        defined = {
            e.metadata.get("error", {}).get("code", e.name): e for e in model.service_model.error_shapes
        }
        if code in modeled:
            want = {modeled[code].metadata.get("error", {}).get("httpStatusCode", 400)}
        elif code in defined:
            # An error the service defines for other operations (IAM's InvalidInput, say): AWS
            # answers such codes beyond each operation's list, so accept it with its own status.
            want = {defined[code].metadata.get("error", {}).get("httpStatusCode", 400)}
        elif code in common:
            want = common[code]
        else:
            problems.append(
                f"error code {code!r} is neither modeled for {model.name} ({sorted(modeled)}) "
                "nor one of AWS's common errors"
            )
            return
        if status not in want:
            problems.append(f"error {code} comes with HTTP {status}, AWS sends {sorted(want)}")
