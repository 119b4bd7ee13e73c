"""Validates the requests the exporter sent during CI against AWS's service models.

The simulator refuses what its constraint table (crates/aws-sim/constraints.tsv) says AWS
refuses, but the table and the simulator's reading of it are the project's own code: a path
written wrongly there, or a check the simulator forgets, and a request that real AWS answers
with a ValidationException passes every test. So the simulator, with POSTURE_SIM_RECORD naming a
directory, writes each distinct request that the AWS SDK for Rust sent to `DIR/*.jsonl`, and this
script checks them with code that shares nothing with the simulator:

- it rebuilds each operation's input parameters from the raw request by the model alone (awsJson:
  the body; restJson: the request URI template's labels, query-string members and body members by
  their wire names; awsQuery: the form, `.member.N` lists), and a member the model does not know
  is a violation;
- it validates them with botocore's own `botocore.validate.ParamValidator` (required members,
  types, minimums);
- and checks what that validator does not: maximum lengths, values and list sizes, map sizes,
  enums, patterns (Java regular expressions, translated where Python's `re` differs; matched
  against the whole value, as AWS's "Member must satisfy regular expression pattern" does), and
  the limits the models state only in their documentation, read by constraints.py's regular
  expressions (Python reading the models, not simulator code).

Usage:

    target/pyvenv/bin/python tests/botocore/validate_requests.py DIR [--min-requests N]

It prints one line per distinct violation (with how many requests had it and one of them), a
summary and the request count per operation, and exits 1 on any violation or when DIR holds fewer
than --min-requests requests (default 1), so that the check cannot pass on nothing. A pattern
Python cannot take is reported as "unchecked pattern" (once), never counted as a pass.

Not checked: headers (the records carry none), and limits AWS states nowhere in its models.
"""

import argparse
import base64
import binascii
import collections
import datetime
import functools
import json
import os
import pathlib
import re
import sys
import unicodedata
import urllib.parse
import warnings

import botocore.session
from botocore.validate import ParamValidator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from constraints import doc_limits  # noqa: E402  (the documentation reader: models, not simulator)

SESSION = botocore.session.get_session()
SCALARS = {"string", "integer", "long", "double", "float", "boolean", "timestamp", "blob"}
NUMBERS = {"integer", "long", "double", "float"}


# -- Java regular expressions -------------------------------------------------------------------


class Untranslatable(Exception):
    pass


# Java's POSIX classes (US-ASCII only, as java.util.regex.Pattern defines them).
POSIX = {
    "Lower": [(0x61, 0x7A)],
    "Upper": [(0x41, 0x5A)],
    "ASCII": [(0x00, 0x7F)],
    "Alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "Digit": [(0x30, 0x39)],
    "Alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "Punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "Graph": [(0x21, 0x7E)],
    "Print": [(0x20, 0x7E)],
    "Blank": [(0x09, 0x09), (0x20, 0x20)],
    "Cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "XDigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
    "Space": [(0x09, 0x0D), (0x20, 0x20)],
}
JAVA_DOT = r"[^\n\r\u0085\u2028\u2029]"  # Java's `.` stops at every line terminator
JAVA_H = [(0x09, 0x09), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x180E, 0x180E), (0x2000, 0x200A),
          (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)]


@functools.lru_cache(maxsize=None)
def _category_ranges(cat):
    """Code point ranges of a Unicode general category (`L`, `Lu`, ...), by Python's unicodedata."""
    ranges, start = [], None
    for cp in range(0x110000):
        hit = unicodedata.category(chr(cp)).startswith(cat)
        if hit and start is None:
            start = cp
        elif not hit and start is not None:
            ranges.append((start, cp - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))
    if not ranges:
        raise Untranslatable(f"no Unicode category {cat}")
    return tuple(ranges)


def _property(name):
    if name in POSIX:
        return POSIX[name]
    cat = name[2:] if name.startswith("Is") and len(name) <= 4 else name
    if re.fullmatch(r"[A-Z][a-z]?", cat):
        return _category_ranges(cat)
    raise Untranslatable(f"\\p{{{name}}}")


def _complement(ranges):
    out, nxt = [], 0
    for lo, hi in sorted(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = max(nxt, hi + 1)
    if nxt <= 0x10FFFF:
        out.append((nxt, 0x10FFFF))
    return out


def _class_body(ranges):
    def esc(cp):
        return f"\\U{cp:08X}"

    return "".join(esc(lo) if lo == hi else f"{esc(lo)}-{esc(hi)}" for lo, hi in ranges)


def translate_java(pattern):
    """A Python regular expression (for re.ASCII, as Java's \\w \\d \\s \\b are ASCII) that
    matches what the Java one does; raises Untranslatable for what it cannot express."""
    out, i, in_class, class_open, n = [], 0, False, False, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            class_open = False
            if i + 1 >= n:
                raise Untranslatable("a trailing backslash")
            e = pattern[i + 1]
            i += 2
            if e in "pP":
                if i < n and pattern[i] == "{":
                    end = pattern.find("}", i)
                    if end < 0:
                        raise Untranslatable("an unclosed \\p{")
                    name, i = pattern[i + 1 : end], end + 1
                else:
                    name, i = pattern[i : i + 1], i + 1
                ranges = _property(name)
                if e == "P":
                    ranges = _complement(ranges)
                body = _class_body(ranges)
                out.append(body if in_class else f"[{body}]")
            elif e == "h":
                out.append(_class_body(JAVA_H) if in_class else f"[{_class_body(JAVA_H)}]")
            elif e == "x" and i < n and pattern[i] == "{":
                end = pattern.find("}", i)
                out.append(f"\\U{int(pattern[i + 1 : end], 16):08X}")
                i = end + 1
            elif e == "Q":
                end = pattern.find("\\E", i)
                end = n if end < 0 else end
                out.append("".join(f"\\U{ord(ch):08X}" for ch in pattern[i:end]))
                i = end + 2
            elif e == "z" and not in_class:
                out.append(r"\Z")
            elif e == "Z" and not in_class:
                out.append(r"(?=[\n\r\u0085\u2028\u2029]?\Z)")
            elif e == "0":
                digits = re.match(r"[0-7]{1,3}", pattern[i:])
                if not digits:
                    raise Untranslatable("\\0 without octal digits")
                out.append(f"\\U{int(digits.group(), 8):08X}")
                i += len(digits.group())
            elif e in "RXkGVvHcN" or (e == "E"):
                raise Untranslatable(f"\\{e}")
            else:
                out.append("\\" + e)
            continue
        if in_class:
            if c == "[":
                raise Untranslatable("a nested character class (Java's union)")
            if pattern.startswith("&&", i):
                raise Untranslatable("a character class intersection")
            if c == "]" and not class_open:
                in_class = False
            class_open = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class, class_open = True, True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            continue
        out.append(JAVA_DOT if c == "." else c)
        i += 1
    if in_class:
        raise Untranslatable("an unclosed character class")
    return "".join(out)


@functools.lru_cache(maxsize=None)
def compile_java(pattern):
    """(compiled, None) or (None, why it cannot be checked)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return re.compile(translate_java(pattern), re.ASCII), None
    except (Untranslatable, re.error, FutureWarning, ValueError) as e:
        return None, str(e)


# -- rebuilding the input parameters from the wire ----------------------------------------------


class Problems:
    """What one request breaks: (key, message) pairs; key groups the same break of many requests."""

    def __init__(self):
        self.items = []

    def add(self, path, kind, message):
        self.items.append(((kind, re.sub(r"\[\d+\]", "[]", path)), message))


def _name(path, member):
    return f"{path}.{member}" if path else member


def _scalar(text, shape, path, problems, timestamp_default):
    """A value from its text on the wire (URI label, query string, form)."""
    t = shape.type_name
    if t in ("integer", "long"):
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        problems.add(path, "wire type", f"{path}: {text!r} is not an {t}")
        return text
    if t in ("double", "float"):
        try:
            return float(text)
        except ValueError:
            problems.add(path, "wire type", f"{path}: {text!r} is not a {t}")
            return text
    if t == "boolean":
        if text in ("true", "false"):
            return text == "true"
        problems.add(path, "wire type", f"{path}: {text!r} is not true or false")
        return text
    if t == "timestamp":
        fmt = shape.serialization.get("timestampFormat", timestamp_default)
        if fmt == "unixTimestamp":
            try:
                return datetime.datetime.fromtimestamp(float(text), datetime.timezone.utc)
            except ValueError:
                problems.add(path, "wire type", f"{path}: {text!r} is not epoch seconds")
                return text
        return text  # ISO 8601 or HTTP date: botocore's validator parses it
    if t == "blob":
        return _blob(text, path, problems)
    return text


def _blob(text, path, problems):
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        problems.add(path, "wire type", f"{path}: a blob that is not base64")
        return text


def from_json(value, shape, path, problems):
    """A JSON value of the wire, with member names for wire names (awsJson, restJson body)."""
    t = shape.type_name
    if t == "structure" and not getattr(shape, "is_document_type", False):
        if not isinstance(value, dict):
            return value
        by_wire = {m.serialization.get("name", name): name for name, m in shape.members.items()}
        out = {}
        for key, v in value.items():
            name = by_wire.get(key)
            if name is None:
                problems.add(_name(path, key), "unknown member", f"{_name(path, key)}: unknown member {key!r}")
            elif v is not None:  # AWS reads a JSON null as an absent member
                out[name] = from_json(v, shape.members[name], _name(path, name), problems)
        return out
    if t == "list" and isinstance(value, list):
        return [from_json(v, shape.member, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if t == "map" and isinstance(value, dict):
        return {k: from_json(v, shape.value, f"{path}[{k}]", problems) for k, v in value.items()}
    if t == "timestamp":
        fmt = shape.serialization.get("timestampFormat", "unixTimestamp")
        if fmt == "unixTimestamp":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
            problems.add(path, "wire type", f"{path}: timestamp {value!r} is not epoch seconds as a number")
        return value
    if t == "blob" and isinstance(value, str):
        return _blob(value, path, problems)
    return value


def _uri_regex(template):
    parts, labels = [], []
    for lit, label in re.findall(r"([^{]*)(?:\{([^}]+)\})?", template):
        parts.append(re.escape(lit))
        if label:
            greedy = label.endswith("+")
            labels.append(label.rstrip("+"))
            parts.append("(.+)" if greedy else "([^/]+)")
    return re.compile("".join(parts)), labels


def params_rest_json(rec, op, problems):
    shape = op.input_shape
    http = op.http
    if rec.get("method") != http["method"]:
        problems.add("", "method", f"method {rec.get('method')}, the model says {http['method']}")
    template, _, literal_query = http["requestUri"].partition("?")
    rx, labels = _uri_regex(template)
    m = rx.fullmatch(rec.get("path", ""))
    params = {}
    if shape is None:
        members = {}
    else:
        members = shape.members
    if not m:
        problems.add("", "path", f"path {rec.get('path')!r} does not match {template}")
    else:
        for label, raw in zip(labels, m.groups()):
            name = next(
                (n for n, s in members.items() if s.serialization.get("location") == "uri" and s.serialization.get("name") == label),
                None,
            )
            if name is None:
                problems.add(label, "uri", f"URI label {label} has no member")
                continue
            params[name] = _scalar(urllib.parse.unquote(raw), members[name], name, problems, "iso8601")
    allowed_literal = {k for k, _ in urllib.parse.parse_qsl(literal_query, keep_blank_values=True)}
    query_members = {s.serialization.get("name"): n for n, s in members.items() if s.serialization.get("location") == "querystring"}
    for key, value in urllib.parse.parse_qsl(rec.get("query") or "", keep_blank_values=True):
        if key in allowed_literal:
            continue
        name = query_members.get(key) or query_members.get(None)
        if name is None:
            problems.add(key, "unknown member", f"{key}: unknown query parameter")
            continue
        s = members[name]
        if s.type_name == "list":
            params.setdefault(name, []).append(_scalar(value, s.member, f"{name}[]", problems, "iso8601"))
        elif s.type_name == "map":
            params.setdefault(name, {})[key] = _scalar(value, s.value, f"{name}[{key}]", problems, "iso8601")
        elif name in params:
            problems.add(name, "repeated", f"{name}: query parameter {key} given more than once")
        else:
            params[name] = _scalar(value, s, name, problems, "iso8601")
    body = rec.get("body") or ""
    body_members = {n: s for n, s in members.items() if "location" not in s.serialization}
    if body.strip():
        try:
            doc = json.loads(body)
        except ValueError:
            problems.add("", "body", "the body is not JSON")
            doc = {}
        if not isinstance(doc, dict):
            problems.add("", "body", "the body is not a JSON object")
            doc = {}
        by_wire = {s.serialization.get("name", n): n for n, s in body_members.items()}
        for key, v in doc.items():
            name = by_wire.get(key)
            if name is None:
                problems.add(key, "unknown member", f"{key}: unknown member {key!r} in the body")
            elif v is not None:
                params[name] = from_json(v, members[name], name, problems)
    return params


def params_json(rec, op, problems):
    prefix = op.service_model.metadata.get("targetPrefix")
    want = f"{prefix}.{op.name}"
    if rec.get("target") != want:
        problems.add("", "target", f"X-Amz-Target {rec.get('target')!r}, the model says {want!r}")
    if rec.get("method") != "POST" or rec.get("path") != "/":
        problems.add("", "method", f"{rec.get('method')} {rec.get('path')}, awsJson is POST /")
    body = rec.get("body") or ""
    try:
        doc = json.loads(body) if body.strip() else {}
    except ValueError:
        problems.add("", "body", "the body is not JSON")
        return {}
    if not isinstance(doc, dict):
        problems.add("", "body", "the body is not a JSON object")
        return {}
    if op.input_shape is None:
        for key in doc:
            problems.add(key, "unknown member", f"{key}: unknown member {key!r} (the operation has no input)")
        return {}
    return from_json(doc, op.input_shape, "", problems)


def params_query(rec, op, problems):
    text = rec.get("body") if rec.get("method") == "POST" else rec.get("query")
    pairs = urllib.parse.parse_qsl(text or "", keep_blank_values=True)
    form = {}
    for k, v in pairs:
        if k in form:
            problems.add(k, "repeated", f"{k}: form parameter given more than once")
        form[k] = v
    if form.get("Action") != op.name:
        problems.add("", "action", f"Action {form.get('Action')!r}, the operation is {op.name}")
    version = op.service_model.metadata["apiVersion"]
    if form.get("Version") != version:
        problems.add("", "version", f"Version {form.get('Version')!r}, the model says {version}")
    consumed = {"Action", "Version"}
    params = {}
    if op.input_shape is not None:
        params = _from_form(form, op.input_shape, "", "", consumed, problems) or {}
    for k in form:
        if k not in consumed:
            problems.add(k, "unknown member", f"{k}: unknown member (form parameter {k})")
    return params


def _present(form, key):
    return key in form or any(k.startswith(key + ".") for k in form)


def _from_form(form, shape, prefix, path, consumed, problems):
    t = shape.type_name
    if t in SCALARS:
        if prefix not in form:
            return None
        consumed.add(prefix)
        return _scalar(form[prefix], shape, path, problems, "iso8601")
    if t == "structure":
        out = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            key = f"{prefix}.{wire}" if prefix else wire
            if _present(form, key):
                v = _from_form(form, member, key, _name(path, name), consumed, problems)
                if v is not None:
                    out[name] = v
        return out
    if t == "list":
        if form.get(prefix) == "":
            consumed.add(prefix)
            return []
        if shape.serialization.get("flattened"):
            base = prefix
            if shape.member.serialization.get("name"):
                base = ".".join(prefix.split(".")[:-1] + [shape.member.serialization["name"]])
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        return [
            _from_form(form, shape.member, f"{base}.{i}", f"{path}[{i - 1}]", consumed, problems)
            for i in _indices(form, base, path, problems)
        ]
    if t == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        out = {}
        for i in _indices(form, base, path, problems):
            k = _from_form(form, shape.key, f"{base}.{i}.{kname}", f"{path}(key {i})", consumed, problems)
            out[k] = _from_form(form, shape.value, f"{base}.{i}.{vname}", f"{path}[{k}]", consumed, problems)
        return out
    return None


def _indices(form, base, path, problems):
    found = set()
    for k in form:
        if k.startswith(base + "."):
            head = k[len(base) + 1 :].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    found = sorted(found)
    if found and found != list(range(1, len(found) + 1)):
        problems.add(path, "list indices", f"{path}: list positions {found}, AWS numbers them 1..n")
    return found


# -- what botocore's validator does not check ---------------------------------------------------


class Extra:
    """Maxima, enums, patterns and documented limits, walking the rebuilt parameters."""

    def __init__(self, service, problems, unchecked):
        self.data = SESSION.get_service_data(service)
        self.problems = problems
        self.unchecked = unchecked

    def documented(self, ref, shape):
        """(check, value, sentence) that the documentation of a member of `shape` states."""
        docs = [d for d in (ref.get("documentation"), self.data["shapes"][shape.name].get("documentation")) if d]
        return doc_limits(docs, self.data["shapes"][shape.name])[0]

    def walk(self, value, shape, path, ref):
        t = shape.type_name
        md = shape.metadata
        rules = [(c, int(v), f'documentation: "{s}"') for c, v, s in self.documented(ref, shape)]
        if t == "string" and isinstance(value, str):
            if "max" in md:
                rules.append(("max_len", md["max"], f"model: max length {md['max']}"))
            if shape.enum and value not in shape.enum:
                self.problems.add(path, "enum", f"{path}: {value!r} is not one of the model's values [{', '.join(shape.enum)}]")
            if "pattern" in md:
                rx, why = compile_java(md["pattern"])
                if rx is None:
                    self.unchecked.add((md["pattern"], why))
                elif not rx.fullmatch(value):
                    self.problems.add(path, "pattern", f"{path}: {value!r} does not match the model's pattern {md['pattern']}")
        elif t in NUMBERS:
            if isinstance(value, bool):
                self.problems.add(path, "type", f"{path}: {value!r} where the model says {t}")
                return
            if "max" in md:
                rules.append(("max", md["max"], f"model: max {md['max']}"))
        elif t == "list" and isinstance(value, (list, tuple)):
            if "max" in md:
                rules.append(("max_items", md["max"], f"model: max {md['max']} items"))
            for i, item in enumerate(value):
                self.walk(item, shape.member, f"{path}[{i}]", self._ref(shape.name, "member"))
        elif t == "map" and isinstance(value, dict):
            if "min" in md:  # botocore's validator checks no map size
                rules.append(("min_items", md["min"], f"model: min {md['min']} entries"))
            if "max" in md:
                rules.append(("max_items", md["max"], f"model: max {md['max']} entries"))
            for k, v in value.items():
                self.walk(k, shape.key, f"{path}(key {k!r})", self._ref(shape.name, "key"))
                self.walk(v, shape.value, f"{path}[{k}]", self._ref(shape.name, "value"))
        elif t == "structure" and isinstance(value, dict) and not getattr(shape, "is_document_type", False):
            for name, v in value.items():
                if name in shape.members:
                    self.walk(v, shape.members[name], _name(path, name), self.data["shapes"][shape.name]["members"][name])
        for check, limit, source in rules:
            self._limit(value, t, check, limit, source, path)

    def _ref(self, shape_name, part):
        return self.data["shapes"][shape_name][part]

    def _limit(self, value, t, check, limit, source, path):
        if check in ("max_items", "min_items"):
            if not isinstance(value, (list, tuple, dict)):
                return
            n, what = len(value), "entries" if isinstance(value, dict) else "values"
        elif check in ("max_len", "min_len"):
            if not isinstance(value, str):
                return
            n, what = len(value), "characters"
        else:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                return
            n, what = value, None
        over = n > limit if check.startswith("max") else n < limit
        if over:
            bound = "at most" if check.startswith("max") else "at least"
            shown = f"{n} {what}" if what else f"{n!r}"
            self.problems.add(path, check, f"{path}: {shown}, {bound} {limit} allowed ({source})")


# -- the run ------------------------------------------------------------------------------------


def check_request(rec):
    """The problems of one recorded request: [(key, message)]."""
    problems = Problems()
    service, op_name = rec.get("service"), rec.get("op")
    try:
        model = SESSION.get_service_model(service)
    except Exception:
        problems.add("", "service", f"unknown service {service!r}")
        return problems.items
    if op_name not in model.operation_names:
        problems.add("", "operation", f"{service} has no operation {op_name!r}")
        return problems.items
    op = model.operation_model(op_name)
    proto = model.protocol
    if rec.get("protocol") != proto:
        problems.add("", "protocol", f"recorded as {rec.get('protocol')!r}, the model's protocol is {proto!r}")
    if proto == "json":
        params = params_json(rec, op, problems)
    elif proto == "rest-json":
        params = params_rest_json(rec, op, problems)
    elif proto == "query":
        params = params_query(rec, op, problems)
    else:
        problems.add("", "protocol", f"protocol {proto} is not implemented here")
        return problems.items
    if op.input_shape is None:
        return problems.items
    headers = {n for n, s in op.input_shape.members.items() if s.serialization.get("location") in ("header", "headers")}
    report = ParamValidator().validate(params, op.input_shape)
    # botocore's own report, one error a tuple (reason, name, details), as generate_report() formats.
    for error in report._errors:
        reason, name, details = error
        if reason == "missing required field" and not name and details.get("required_name") in headers:
            continue  # the records carry no headers
        problems.add(name.lstrip("."), f"botocore: {reason}", f"botocore: {report._format_error(error)}")
    Extra(service, problems, UNCHECKED).walk(params, op.input_shape, "", {})
    return problems.items


UNCHECKED = set()


def load(directory):
    """Distinct records of DIR/*.jsonl, each with where it was read; unreadable lines apart."""
    records, bad, seen = [], [], set()
    for path in sorted(pathlib.Path(directory).glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                bad.append(f"{path.name}:{n}: {e}")
                continue
            key = json.dumps(rec, sort_keys=True)
            if key not in seen:
                seen.add(key)
                records.append((f"{path.name}:{n}", rec))
    return records, bad


def _shown(rec):
    body = rec.get("body") or ""
    if len(body) > 300:
        body = body[:300] + f"... ({len(rec['body'])} characters)"
    q = f"?{rec['query']}" if rec.get("query") else ""
    return f"{rec.get('method')} {rec.get('path')}{q} {body}".rstrip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", help="the directory of the recorded *.jsonl files")
    parser.add_argument("--min-requests", type=int, default=1, help="fail when fewer requests were recorded (default 1)")
    args = parser.parse_args(argv)
    UNCHECKED.clear()
    if not pathlib.Path(args.dir).is_dir():
        print(f"{args.dir} is not a directory", file=sys.stderr)
        return 1
    records, bad = load(args.dir)
    per_op = collections.Counter()
    found = {}  # (service, op, key) -> [message, count, example]
    for where, rec in records:
        per_op[(str(rec.get("service")), str(rec.get("op")))] += 1
        for key, message in check_request(rec):
            k = (rec.get("service"), rec.get("op")) + key
            if k in found:
                found[k][1] += 1
            else:
                found[k] = [message, 1, f"{where}: {_shown(rec)}"]
    for line in bad:
        print(f"VIOLATION unreadable record {line}")
    for (service, op, *_), (message, count, example) in sorted(found.items(), key=lambda kv: (str(kv[0]), kv[1][0])):
        print(f"VIOLATION {service} {op} {message} -- {count} request{'s' if count != 1 else ''}, e.g. {example}")
    for pattern, why in sorted(UNCHECKED):
        print(f"UNCHECKED pattern {pattern} ({why}): values of this pattern were not checked")
    violations = len(found) + len(bad)
    print(f"{len(records)} requests checked, {len(per_op)} operations, {violations} violations"
          + (f", {len(UNCHECKED)} unchecked patterns" if UNCHECKED else ""))
    for (service, op), count in sorted(per_op.items()):
        print(f"    {service} {op}: {count}")
    if len(records) < args.min_requests:
        print(f"only {len(records)} requests in {args.dir}, at least {args.min_requests} wanted: nothing was recorded?",
              file=sys.stderr)
        return 1
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
