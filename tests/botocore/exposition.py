"""A small reader of the Prometheus text exposition that `posture-exporter collect --once` prints,
and the runner of that command, shared by the botocore and the moto suites.

Written here rather than taken from prometheus_client so that the suites need nothing but boto3,
moto and pytest; it reads what the exporter writes (no timestamps, no exemplars) and refuses
what it cannot read, so a malformed line fails the test instead of vanishing.
"""

import json
import math
import os
import re
import subprocess

LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$")
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def _unescape(v):
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            n = v[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(n, "\\" + n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            raise ValueError(f"cannot read labels {text!r} at {pos}")
        labels[m.group(1)] = _unescape(m.group(2))
        pos = m.end()
    return labels


SPECIAL = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}


def _value(s):
    return SPECIAL[s] if s in SPECIAL else float(s)


class Exposition:
    """Samples by metric name: ``{name: [(labels, value), ...]}``."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        for n, line in enumerate(text.splitlines(), 1):
            if not line or line.startswith("#"):
                continue
            m = LINE.match(line)
            if not m:
                raise ValueError(f"line {n} is not a sample: {line!r}")
            labels = _labels(m.group(3) or "")
            self.samples.setdefault(m.group(1), []).append((labels, _value(m.group(4))))

    def series(self, name, **labels):
        """Every (labels, value) of `name` whose labels include `labels`."""
        return [
            (l, v)
            for l, v in self.samples.get(name, [])
            if all(l.get(k) == str(x) for k, x in labels.items())
        ]

    def get(self, name, **labels):
        """The value of the one series of `name` with exactly these labels; None when absent."""
        found = [v for l, v in self.samples.get(name, []) if l == {k: str(x) for k, x in labels.items()}]
        if len(found) > 1:
            raise AssertionError(f"{name}{labels} appears {len(found)} times")
        return found[0] if found else None

    def label_sets(self, name, **labels):
        """The label sets of `name` including `labels`, as a set of sorted tuples."""
        return {tuple(sorted(l.items())) for l, _ in self.series(name, **labels)}

    def state_set(self, name, **labels):
        """The `status` label values of a state set, with their 0/1 values."""
        return {l["status"]: v for l, v in self.series(name, **labels)}


def collect_once(binary, config_path, env_extra, timeout=120):
    """Runs `posture-exporter collect --once` with JSON logs; returns (exit code, Exposition,
    stderr log records as dicts)."""
    env = dict(os.environ)
    env.update(env_extra)
    env.pop("AWS_PROFILE", None)
    p = subprocess.run(
        [binary, "--log-format", "json", "collect", "--once", "--config", str(config_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    logs = []
    for line in p.stderr.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                logs.append(json.loads(line))
            except ValueError:
                pass
    return p.returncode, Exposition(p.stdout), logs, p.stderr
