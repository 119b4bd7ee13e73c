"""The table of what AWS refuses in a request, generated from AWS's service models.

The simulator (crates/aws-sim) must refuse what real AWS refuses, or a request that AWS would
answer with a ValidationException passes every test here: the exporter once sent GuardDuty 100
account ids in one `equals` condition where AWS allows 50. Constraints typed in by hand drift and
are remembered wrongly, so the simulator reads them from `crates/aws-sim/constraints.tsv`, which
this script writes from botocore's copies of the service models, for every operation the
simulator serves (`served_operations()`, also used by test_zz_coverage.py):

- from the models' traits: `required` members (top level and nested), string lengths, number
  ranges, list and map sizes, enums and patterns;
- from the models' documentation, limits the traits do not state ("Max values: 50" on GuardDuty's
  `Condition.Equals`), read by a small list of explicit regular expressions (DOC_LIMITS below),
  each row carrying the sentence it was read from. `--candidates` prints every documentation
  sentence of the served operations' input members that looks like a limit, and what became of
  it, so that a reviewer sees what was not taken.

Run it after a change to the simulator's operations or a new botocore:

    target/pyvenv/bin/python tests/botocore/constraints.py            # writes the table
    target/pyvenv/bin/python tests/botocore/constraints.py --check    # CI: exit 1 if stale
    target/pyvenv/bin/python tests/botocore/constraints.py --candidates

The table's format (tab-separated; the Rust simulator parses it):

    op       service  operation  [METHOD /request/{Uri}]   (the template for restJson only)
    service  operation  location  check  value  source

`location` is where the member is on the wire, by wire names: `body:` a dotted path into the JSON
body (`[]` every item of a list, `{}` every value of a map, `{key}` its keys), `uri:` a label of
the request URI template, `query:` a query-string parameter, `header:` a header, `form:` an
awsQuery parameter (lists as `Name.member.[]`). `check` is one of CHECKS; `source` is `model`
or `doc: <sentence>`. validate_requests.py imports the documentation reader from here: it is
Python reading the models, and shares nothing with the simulator.
"""

import argparse
import difflib
import functools
import html
import pathlib
import re
import sys

import botocore
import botocore.session

ROOT = pathlib.Path(__file__).resolve().parents[2]
TABLE = ROOT / "crates" / "aws-sim" / "constraints.tsv"
SIM_SOURCES = ROOT / "crates" / "aws-sim" / "src"

# The services the simulator may serve; securityhub and account are to come (with the
# intersection in served_operations() they add nothing until the simulator serves them).
SERVICES = ["config", "organizations", "guardduty", "sts", "iam", "securityhub", "account"]

# The checks, in the order rows of one location are written.
CHECKS = ["required", "min_len", "max_len", "min", "max", "min_items", "max_items", "enum", "pattern"]

MAX_DEPTH = 10
NUMBER_TYPES = {"integer", "long", "double", "float"}
COLLECTION_TYPES = {"list", "map"}


@functools.lru_cache(maxsize=None)
def session():
    return botocore.session.get_session()


def services():
    """SERVICES that this botocore has a model for."""
    available = set(session().get_available_services())
    return [s for s in SERVICES if s in available]


@functools.lru_cache(maxsize=None)
def service_data(service):
    """The service's model as botocore ships it (service-2.json), unresolved."""
    return session().get_service_data(service)


def protocol(service):
    return service_data(service)["metadata"]["protocol"]


def _matched_names(text):
    # Digits too: Security Hub's new generation names its operations `...V2`.
    return set(re.findall(r'"([A-Z][A-Za-z0-9]+)"\s*=>', text)) | set(re.findall(r'=>\s*"([A-Z][A-Za-z0-9]+)"', text))


def served_operations():
    """`service.Operation` for every operation the simulator serves: the operation names its
    sources match on (`"Name" =>` or `=> "Name"`), intersected with each service's model.

    A name that more than one service's model has (GuardDuty and Security Hub both have
    ListMembers, GetAdministratorAccount, ...) counts for a service only where a source file
    named after the service (`guardduty.rs`, `guardduty_lists.rs`) matches on it."""
    files = sorted(SIM_SOURCES.glob("*.rs"))
    names = _matched_names("".join(p.read_text() for p in files))
    by_service = {svc: set(session().get_service_model(svc).operation_names) for svc in services()}
    own = {
        svc: _matched_names("".join(p.read_text() for p in files if p.stem == svc or p.stem.startswith(svc + "_")))
        for svc in by_service
    }
    ops = set()
    for name in names:
        having = [svc for svc, model_ops in by_service.items() if name in model_ops]
        if len(having) > 1:
            having = [svc for svc in having if name in own[svc]]
        ops |= {f"{svc}.{name}" for svc in having}
    return ops


# -- walking an operation's input ---------------------------------------------------------------


class Node:
    """One place of an operation's input: a structure member, a list item (`[]`), a map value
    (`{}`) or a map key (`{key}`)."""

    def __init__(self, shapes, location, path, ref, required, parent):
        self._shapes = shapes
        self.location = location  # wire location, as in the table
        self.path = path  # model path: member names, "[]", "{}", "{key}"
        self.ref = ref  # the reference to the shape (a member's, a list's `member`, ...)
        self.shape_name = ref["shape"]
        self.required = required
        self.parent = parent  # the enclosing Node, or None at the top level

    @property
    def shape(self):
        return self._shapes[self.shape_name]

    def docs(self):
        """The documentation of the reference and of its shape (HTML), the ones there are."""
        return [d for d in (self.ref.get("documentation"), self.shape.get("documentation")) if d]


def input_nodes(service, op):
    """Every Node of the operation's input, depth first in model order. Recursive shapes stop at
    a shape already on the path (its own place is still a Node), and at depth MAX_DEPTH."""
    data = service_data(service)
    shapes = data["shapes"]
    op_model = data["operations"][op]
    proto = data["metadata"]["protocol"]
    if "input" not in op_model:
        return []
    top = shapes[op_model["input"]["shape"]]
    if top.get("payload"):
        raise NotImplementedError(f"{service} {op}: an input payload member; the table has no location for it")
    out = []

    def wire(ref, name):
        return ref.get("locationName", name)

    def walk(node, stack, depth):
        out.append(node)
        shape = shapes[node.shape_name]
        if node.shape_name in stack or depth >= MAX_DEPTH:
            return
        stack = stack + (node.shape_name,)
        t = shape["type"]
        if t == "structure" and not shape.get("document"):
            required = set(shape.get("required", []))
            for name, ref in shape["members"].items():
                sep = "" if node.location.endswith(":") else "."
                loc = f"{node.location}{sep}{wire(ref, name)}"
                walk(Node(shapes, loc, node.path + (name,), ref, name in required, node), stack, depth + 1)
        elif t == "list":
            ref = shape["member"]
            if proto == "query":
                if shape.get("flattened"):
                    base = node.location
                    if ref.get("locationName"):
                        head, _, _ = base.rpartition(".")
                        base = f"{head}.{ref['locationName']}" if head else f"form:{ref['locationName']}"
                    loc = f"{base}.[]"
                else:
                    loc = f"{node.location}.{ref.get('locationName', 'member')}.[]"
            else:
                loc = f"{node.location}.[]"
            walk(Node(shapes, loc, node.path + ("[]",), ref, False, node), stack, depth + 1)
        elif t == "map":
            base = node.location
            if proto == "query" and not shape.get("flattened"):
                base = f"{base}.entry"
            key, value = shape["key"], shape["value"]
            if model_checks(shapes[key["shape"]]):
                walk(Node(shapes, f"{base}.{{key}}", node.path + ("{key}",), key, False, node), stack, depth + 1)
            walk(Node(shapes, f"{base}.{{}}", node.path + ("{}",), value, False, node), stack, depth + 1)

    required = set(top.get("required", []))
    for name, ref in top["members"].items():
        where = ref.get("location")
        if proto == "query":
            loc = f"form:{wire(ref, name)}"
        elif where is None:
            loc = f"body:{wire(ref, name)}"
        elif where == "uri":
            loc = f"uri:{ref['locationName']}"
        elif where == "querystring":
            loc = f"query:{ref['locationName']}" if "locationName" in ref else "query:{}"
        elif where == "header":
            loc = f"header:{ref['locationName']}"
        elif where == "headers":
            loc = f"header:{ref['locationName']}*"
        else:
            raise NotImplementedError(f"{service} {op}.{name}: location {where!r}")
        walk(Node(shapes, loc, (name,), ref, name in required, None), (op_model["input"]["shape"],), 1)
    return out


def model_checks(shape):
    """(check, value) from the traits of a shape."""
    t = shape["type"]
    checks = []
    if t == "string":
        if "min" in shape:
            checks.append(("min_len", _number(shape["min"])))
        if "max" in shape:
            checks.append(("max_len", _number(shape["max"])))
        if "enum" in shape:
            for v in shape["enum"]:
                if "," in v or _unwritable(v):
                    raise ValueError(f"enum value {v!r} cannot be written in the table")
            checks.append(("enum", ",".join(shape["enum"])))
        if "pattern" in shape:
            if _unwritable(shape["pattern"]):
                raise ValueError(f"pattern {shape['pattern']!r} has a tab or line break")
            checks.append(("pattern", shape["pattern"]))
    elif t in NUMBER_TYPES:
        if "min" in shape:
            checks.append(("min", _number(shape["min"])))
        if "max" in shape:
            checks.append(("max", _number(shape["max"])))
    elif t in COLLECTION_TYPES:
        if "min" in shape:
            checks.append(("min_items", _number(shape["min"])))
        if "max" in shape:
            checks.append(("max_items", _number(shape["max"])))
    elif any(k in shape for k in ("min", "max", "pattern", "enum")):
        # A blob's or timestamp's bounds would need a check the table does not have.
        raise ValueError(f"a {t} shape with min/max/pattern/enum: {shape}")
    return checks


def _number(v):
    return str(v)


def _unwritable(text):
    return any(c in text for c in "\t\n\r")


# -- limits stated only in the documentation ----------------------------------------------------

_NUM = r"(\d{1,3}(?:,\d{3})+|\d+)"

# The regular expressions that read a limit from a documentation sentence (HTML stripped,
# whitespace collapsed). Each gives the kind of limit it states: "count" (items of a list or
# map: max_items), "chars" (a string's length: max_len) or "value" (a number: max/min); a
# sentence is taken only when its kind fits the member's type.
DOC_LIMITS = [
    # GuardDuty's Condition.Equals/NotEquals/Eq/Neq: "Max values: 50" (a paragraph of its own).
    ("max values", re.compile(r"^Max(?:imum)? (?:number of )?values: " + _NUM + r"\.?$", re.I), "count", "max"),
    # "You can provide up to 10 managed policy ARNs." (STS AssumeRole PolicyArns): the subject
    # is the reader passing items of this member.
    (
        "you can <verb> up to N",
        re.compile(r"^You can (?:provide|pass|specify|include|add|enter) up to " + _NUM + r" [\w ()-]+\.$"),
        "count",
        "max",
    ),
    # "The maximum value is 50." (GuardDuty MaxResults).
    ("the maximum value is N", re.compile(r"^The maximum value is " + _NUM + r"\.$"), "value", "max"),
    # "You can specify a maximum of 10 items." / "... a maximum of 256 characters."
    ("a maximum of N <unit>", re.compile(r"\ba maximum of " + _NUM + r" (characters|items|values|\w+)\b"), "unit", "max"),
    # "Valid range is between 1 and 100." / "... between 1 and 64 characters."
    ("between A and B", re.compile(r"\bbetween " + _NUM + r" and " + _NUM + r"(?: (characters|items|values))?\b"), "unit", "range"),
    # "The plain text session tag keys can't exceed 128 characters." / "The value must not
    # exceed 4,096 bytes." (a number's value in its own unit).
    (
        "can't exceed N",
        re.compile(r"^The [\w ]+ (?:can[\u2019']t|cannot|must not) exceed " + _NUM + r"(?: (characters|bytes|\w+))?\.$"),
        "unit",
        "max",
    ),
]

# A limit over several members together ("both inline and managed session policies") is not a
# limit of the member it is documented on.
SPANS_MEMBERS = re.compile(r"\b(both|combined|together|in total|total|sum)\b", re.I)

# A sentence that may state a limit: a number near one of these words (for --candidates).
CANDIDATE = re.compile(
    r"\b(max|maximum|min|minimum|up to|between|limit|limits|limited|at most|at least|exceeds?|"
    r"no more than|fewer than|less than|greater than|more than|range)\b",
    re.I,
)


def doc_sentences(text):
    """The sentences of an HTML documentation string: tags stripped, entities decoded, whitespace
    collapsed; paragraphs and list items end a sentence."""
    text = re.sub(r"</?(?:p|li|ul|ol|note|important|br|div|dl|dt|dd|h\d)\b[^>]*>", "\n", text or "")
    text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    out = []
    for para in text.split("\n"):
        para = " ".join(para.split())
        out += [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(\"])", para) if s]
    return out


def _kind_of(shape):
    t = shape["type"]
    if t in COLLECTION_TYPES:
        return "count"
    if t == "string":
        return "chars"
    if t in NUMBER_TYPES:
        return "value"
    return None


def _unit_kind(unit, member_kind):
    """The kind a "unit" regex states: characters are a length, items/values a count; another
    unit (bytes, seconds) or none is the number's own value."""
    if unit in ("characters",):
        return "chars"
    if unit in ("items", "values"):
        return "count"
    if unit == "bytes" and member_kind == "chars":
        return "bytes"  # a byte length is not a character length
    return "value"


_CHECK_NAMES = {"count": ("min_items", "max_items"), "chars": ("min_len", "max_len"), "value": ("min", "max")}


def read_sentence(sentence, shape):
    """What a documentation sentence says about a member of `shape`: (rows, verdict). rows are
    (check, value) pairs; verdict says what became of the sentence, for --candidates."""
    member_kind = _kind_of(shape)
    model = dict(model_checks(shape)) if member_kind else {}
    for name, rx, kind, what in DOC_LIMITS:
        m = rx.search(sentence)
        if not m:
            continue
        nums = [int(g.replace(",", "")) for g in m.groups() if g and g[0].isdigit()]
        unit = next((g for g in m.groups() if g and not g[0].isdigit()), None)
        if kind == "unit":
            kind = _unit_kind(unit, member_kind)
        if SPANS_MEMBERS.search(sentence):
            return [], f"rejected ({name}): a limit over several members"
        if kind != member_kind:
            return [], f"rejected ({name}): a {kind} limit on a {shape['type']} member"
        lo, hi = _CHECK_NAMES[kind]
        wanted = [(hi, nums[0])] if what == "max" else [(lo, nums[0]), (hi, nums[1])]
        rows, repeats = [], []
        for check, value in wanted:
            have = model.get(check)
            tighter = have is not None and (
                float(have) <= value if check.startswith("max") else float(have) >= value
            )
            if tighter:
                repeats.append(f"model {check} {have}")
            else:
                rows.append((check, str(value)))
        if not rows:
            return [], f"skipped ({name}): the model says it ({', '.join(repeats)})"
        return rows, f"row ({name}): " + ", ".join(f"{c} {v}" for c, v in rows)
    return [], "rejected: no regex reads it"


def doc_limits(docs, shape):
    """Rows (check, value, sentence) that the documentation strings `docs` of a member of type
    `shape` (a raw model shape) state, and every candidate sentence with its verdict."""
    rows, candidates, seen = [], [], set()
    for doc in docs:
        for sentence in doc_sentences(doc):
            if sentence in seen:
                continue
            seen.add(sentence)
            found, verdict = read_sentence(sentence, shape)
            if "\t" in sentence:
                raise ValueError(f"a tab in a documentation sentence: {sentence!r}")
            rows += [(c, v, sentence) for c, v in found]
            if found or (CANDIDATE.search(sentence) and re.search(r"\d", sentence)):
                candidates.append((sentence, verdict))
    return rows, candidates


# -- the table ----------------------------------------------------------------------------------


def operation_rows(service, op):
    """The rows of one operation: (location, check, value, source), sorted."""
    rows = set()
    for node in input_nodes(service, op):
        if node.required:
            rows.add((node.location, "required", "-", "model"))
        shape = node.shape
        for check, value in model_checks(shape):
            rows.add((node.location, check, value, "model"))
        for check, value, sentence in doc_limits(node.docs(), shape)[0]:
            rows.add((node.location, check, value, f"doc: {sentence}"))
    return sorted(rows, key=lambda r: (r[0], CHECKS.index(r[1]), r[3] != "model", r[3], r[2]))


def op_line(service, op):
    cols = ["op", service, op]
    if protocol(service) == "rest-json":
        http = service_data(service)["operations"][op]["http"]
        cols.append(f"{http['method']} {http['requestUri']}")
    return "\t".join(cols)


def render():
    lines = [
        f"# Generated by tests/botocore/constraints.py from botocore {botocore.__version__}'s service models: do not edit by hand.",
        "# Columns: service, operation, location, check, value, source",
        "# op lines: op, service, operation, and for restJson the method and request URI template",
    ]
    for where in sorted(served_operations(), key=lambda s: tuple(s.split("."))):
        service, op = where.split(".")
        lines.append(op_line(service, op))
        for row in operation_rows(service, op):
            for col in row:
                if _unwritable(col):
                    raise ValueError(f"{service} {op}: {col!r} would break the table")
            lines.append("\t".join((service, op) + row))
    return "\n".join(lines) + "\n"


def candidates():
    """(service, operation, location, sentence, verdict) for every candidate sentence."""
    out = []
    for where in sorted(served_operations(), key=lambda s: tuple(s.split("."))):
        service, op = where.split(".")
        for node in input_nodes(service, op):
            for sentence, verdict in doc_limits(node.docs(), node.shape)[1]:
                out.append((service, op, node.location, sentence, verdict))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed table; exit 1 if it differs")
    parser.add_argument("--candidates", action="store_true", help="print documentation sentences that look like limits (stderr)")
    args = parser.parse_args(argv)
    text = render()
    if args.candidates:
        for service, op, location, sentence, verdict in candidates():
            print(f"{service} {op} {location}: {sentence!r}\n    -> {verdict}", file=sys.stderr)
    if args.check:
        committed = TABLE.read_text(encoding="utf-8") if TABLE.exists() else ""
        if committed != text:
            sys.stdout.writelines(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=str(TABLE.relative_to(ROOT)),
                    tofile="generated",
                )
            )
            print(f"{TABLE.relative_to(ROOT)} is stale: run tests/botocore/constraints.py", file=sys.stderr)
            return 1
        return 0
    if not args.candidates:
        TABLE.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {TABLE.relative_to(ROOT)}: {text.count(chr(10) + 'op' + chr(9))} operations, "
              f"{sum(1 for l in text.splitlines() if l and not l.startswith(('#', 'op' + chr(9))))} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
