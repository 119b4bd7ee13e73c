#!/usr/bin/env python3
"""End-to-end test of posture-exporter with a real Prometheus and a real Alertmanager.

Run by tests/run.sh (itself run by .ci/run), which installs Debian's `prometheus` (prometheus,
promtool) and `prometheus-alertmanager` and a venv with `bcrypt`:

    target/pyvenv/bin/python tests/e2e/prometheus_e2e.py

What it starts, each on its own loopback port and in its own temporary directory (a Prometheus
already running on :9090 is not touched):

- `posture-exporter demo --interval 5s --accounts 24`: the simulated organization with every collector;
- `posture-exporter simulate --accounts 2 --seed 99` and, against it, `posture-exporter --config`
  serving HTTPS (a self-signed certificate made with the openssl CLI, or the `cryptography`
  package without it) with basic auth (a bcrypt hash from the `bcrypt` package, or htpasswd);
- Alertmanager, clustering off, routing everything to a receiver that drops it;
- Prometheus with scrape_interval and evaluation_interval 2s, scraping the demo over HTTP, the
  second exporter over HTTPS with basic auth, and the second exporter once more without
  credentials (a probe job, expected down with 401), evaluating deploy/prometheus/alerts.yml and
  sending to that Alertmanager.

The alerting rules are the shipped ones: expressions, labels and annotations under test are read
from deploy/prometheus/alerts.yml as they are. Only the hold time is shortened: every `for:` is
rewritten to `0s` in a temporary copy, so that an alert fires on the first evaluation that sees
its series instead of minutes later. AwsSecurityHubNewCriticalFindings compares with an hour
ago (`offset 1h`): before Prometheus starts, `promtool tsdb create-blocks-from openmetrics`
writes into its empty data directory the demo's CRITICAL Security Hub counts as they stood from
three hours to fifty minutes ago, one lower than now, under the labels Prometheus's scrape gives
them, so that hour of history is Prometheus's own.

Checks, all through HTTP APIs: the scrape is up; every rule evaluates without error; the
member-account deployment-failure and the high-severity GuardDuty alerts fire, one per series of
the exporter's own /metrics, with its labels and rendered annotations; an exception of the demo
silences AwsConfigRecorderMissing for exactly its (account, region) while the same alert fires for
the others, and the demo's exception past its review date fires PostureExceptionReviewOverdue;
Alertmanager received
them; every query of deploy/grafana/dashboard.json (and its variables) returns data; `promtool
check metrics` accepts both expositions; over HTTPS, Prometheus's target is up, a request
without or with wrong credentials gets 401 with `WWW-Authenticate: Basic`, the right ones 200,
/healthz and /ready stay open, and a plain HTTP request gets no metrics.

Every wait is bounded (the whole run stays under about four minutes), every child is stopped at
the end (SIGTERM to this script included; the kernel kills them if it dies otherwise), and a
failure prints the tail of each child's log. Exit status 1 when a check failed, 2 when a tool is
missing, 130 when interrupted; the last line is `e2e: N passed, M failed`.
"""

import base64
import collections
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALERTS_YML = os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")
DASHBOARD_JSON = os.path.join(ROOT, "deploy", "grafana", "dashboard.json")
BIN = os.environ.get("POSTURE_EXPORTER_BIN",
                     os.path.join(ROOT, "target", "debug", "posture-exporter"))

BUDGET = float(os.environ.get("POSTURE_E2E_BUDGET", "220"))  # seconds, building excluded
STARTED = time.monotonic()
DEADLINE = STARTED + BUDGET

MEMBER_ALERT = "AwsConfigOrgRuleMemberDeploymentFailed"
GUARDDUTY_ALERT = "AwsGuardDutyHighSeverityFindings"
RULE_ALERT = "AwsConfigRuleNonCompliant"
PACK_ALERT = "AwsConfigConformancePackNonCompliant"
DEMO_JOB = "posture-exporter-demo"
TLS_JOB = "posture-exporter-tls"
NOAUTH_JOB = "tls-noauth-probe"  # no "posture" in the name: PostureExporterDown must not match it
USER, PASSWORD = "prometheus", "e2e-Secret-7"


class Setup(Exception):
    """The environment lacks something the test needs."""


class OverBudget(BaseException):
    """Raised by SIGALRM when the run overstays its budget (a wedged service, a thrashing
    machine): a BaseException so that no probe's `except Exception` swallows it."""


def die_with_parent():
    """In the child before exec: the kernel sends SIGKILL when this script dies, even by SIGKILL,
    so no exporter or Prometheus outlives a killed CI job (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except Exception:  # not Linux or no libc: stop_all() still covers the normal paths
        pass


# ------------------------------------------------------------------------------------ reporting
class Checks:
    """Counts and prints check results; a failure's detail is cut to stay readable."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"  ok    {name}", flush=True)
        else:
            self.failed += 1
            detail = str(detail)
            if len(detail) > 1500:
                detail = detail[:1500] + " ..."
            print(f"  FAIL  {name}" + (f"\n        {detail}" if detail else ""), flush=True)
        return ok


def remaining():
    return DEADLINE - time.monotonic()


def backfill_critical_findings(demo_base, demo_target, data_dir, tmp, c):
    """An hour of history for AwsSecurityHubNewCriticalFindings: the demo's
    aws_securityhub_findings{severity="CRITICAL"} series one lower than now, and
    aws_securityhub_generation as now, every 30 s from three hours to fifty minutes ago, with the
    job and instance labels of Prometheus's scrape, written as TSDB blocks by promtool."""
    ok, last = wait_until("demo /ready", lambda: (http_get(f"{demo_base}/ready")[0] == 200, None),
                          60, 0.5)
    if not ok:
        raise Setup(f"demo not ready within 60s: {last}")
    _, _, text = http_get(f"{demo_base}/metrics", headers={"Accept": "text/plain"})
    extra = f'job="{DEMO_JOB}",instance="{demo_target}"'
    families = {"aws_securityhub_findings": [], "aws_securityhub_generation": []}
    for line in text.splitlines():
        m = re.match(r'^(aws_securityhub_findings|aws_securityhub_generation)\{(.*)\} (\S+)$', line)
        if not m:
            continue
        name, labels, value = m.group(1), m.group(2), float(m.group(3))
        if name == "aws_securityhub_findings":
            if 'severity="CRITICAL"' not in labels or value < 1:
                continue
            value -= 1
        families[name].append((f"{labels},{extra}", value))
    now = time.time()
    out = []
    for name, series in families.items():
        out.append(f"# TYPE {name} gauge")
        for labels, value in series:
            t = now - 3 * 3600
            while t <= now - 50 * 60:
                out.append(f"{name}{{{labels}}} {value:g} {t:.3f}")
                t += 30
    out.append("# EOF")
    history = os.path.join(tmp, "history.om")
    with open(history, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    r = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", history, data_dir],
                       capture_output=True, text=True, timeout=120)
    n = len(families["aws_securityhub_findings"])
    c.check(f"an hour of history for {n} CRITICAL Security Hub series written as TSDB blocks "
            "(promtool tsdb create-blocks-from openmetrics)", r.returncode == 0 and n > 0,
            r.stdout[-2000:] + r.stderr[-2000:])


def wait_until(what, probe, timeout, every=1.0):
    """Calls probe() until it returns (True, value) or timeout (capped by the global deadline)
    passes; returns (ok, last value). probe exceptions count as not yet."""
    end = time.monotonic() + max(0.0, min(timeout, remaining()))
    last = None
    while True:
        try:
            ok, last = probe()
            if ok:
                return True, last
        except Exception as e:  # the service may not be listening yet
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= end:
            return False, last
        time.sleep(every)


# ------------------------------------------------------------------------------------ HTTP
def http_get(url, headers=None, cafile=None, timeout=10):
    """GET returning (status, headers as a lower-cased dict, body as str). The timeout shrinks
    with the time left, so that a hung server cannot stretch the run past its budget."""
    timeout = max(1.0, min(timeout, remaining()))
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=cafile)
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        body = r.read().decode("utf-8", "replace")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        conn.close()


def get_json(url, **kw):
    status, _, body = http_get(url, **kw)
    if status != 200:
        raise RuntimeError(f"GET {url}: HTTP {status}: {body[:300]}")
    return json.loads(body)


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ------------------------------------------------------------------------------------ exposition
LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_exposition(text):
    """Prometheus text format 0.0.4 -> list of (name, labels dict, float value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if "{" in line:
            name, rest = line.split("{", 1)
            labels_part, value_part = rest.rsplit("}", 1)
            labels = {}
            pos = 0
            while pos < len(labels_part):
                m = LABEL_RE.match(labels_part, pos)
                if not m:
                    raise ValueError(f"bad labels in {line!r}")
                labels[m.group(1)] = m.group(2).encode().decode("unicode_escape")
                pos = m.end()
        else:
            name, value_part = line.split(None, 1)
            labels = {}
        out.append((name.strip(), labels, float(value_part.split()[0])))
    return out


# ------------------------------------------------------------------------------------ processes
class Children:
    """Started processes with their logs in files; all stopped by stop_all()."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []  # (name, Popen, stdout path, stderr path)

    def start(self, name, argv, env=None):
        out_path = os.path.join(self.tmp, f"{name}.stdout")
        err_path = os.path.join(self.tmp, f"{name}.stderr")
        full_env = dict(os.environ, NO_COLOR="1")
        full_env.update(env or {})
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                 env=full_env, cwd=self.tmp, preexec_fn=die_with_parent)
        self.procs.append((name, p, out_path, err_path))
        return p

    def stdout_line(self, name, prefix, timeout=30):
        """Waits for a stdout line starting with prefix; returns the rest of it."""
        _, p, out_path, _ = next(c for c in self.procs if c[0] == name)

        def probe():
            with open(out_path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith(prefix):
                        return True, line[len(prefix):].strip()
            if p.poll() is not None:
                raise Setup(f"{name} exited with status {p.returncode} before printing {prefix!r}")
            return False, None

        end = time.monotonic() + min(timeout, remaining())
        while True:
            ok, v = probe()
            if ok:
                return v
            if time.monotonic() > end:
                raise Setup(f"{name} printed no {prefix!r} line within {timeout}s")
            time.sleep(0.2)

    def dead(self):
        return [(n, p.returncode) for n, p, _, _ in self.procs if p.poll() is not None]

    def dump_logs(self, lines=25):
        for name, p, out_path, err_path in self.procs:
            for label, path in (("stderr", err_path), ("stdout", out_path)):
                try:
                    with open(path, encoding="utf-8", errors="replace") as f:
                        tail = f.readlines()[-lines:]
                except OSError:
                    continue
                if tail:
                    state = "running" if p.poll() is None else f"exited {p.returncode}"
                    print(f"---- {name} ({state}) {label}, last {len(tail)} lines:")
                    sys.stdout.write("".join("  " + ln[:400] + ("" if ln.endswith("\n") else "\n")
                                             for ln in tail))

    def stop_all(self):
        for _, p, _, _ in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        end = time.monotonic() + 8
        for _, p, _, _ in self.procs:
            try:
                p.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    print(f"pid {p.pid} survived SIGKILL for 5s", file=sys.stderr)


# ------------------------------------------------------------------------------------ set-up
def make_certificate(tmp):
    cert, key = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
    if shutil.which("openssl"):
        r = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise Setup(f"openssl req failed: {r.stderr}")
        return cert, key
    try:
        import datetime
        import ipaddress
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise Setup("neither the openssl CLI nor the Python `cryptography` package is available")
    k = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(hours=1))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.SubjectAlternativeName(
             [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
             critical=False)
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
         .sign(k, hashes.SHA256()))
    with open(cert, "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))
    with open(key, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    return cert, key


def bcrypt_hash(password):
    try:
        import bcrypt
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()
    except ImportError:
        pass
    if shutil.which("htpasswd"):
        r = subprocess.run(["htpasswd", "-nbBC", "10", USER, password], capture_output=True,
                           text=True, timeout=30)
        return r.stdout.strip().split(":", 1)[1]
    raise Setup("no bcrypt: run with the venv python (tests/run.sh installs `bcrypt`) "
                "or install htpasswd")


def fast_alerts(tmp):
    """The shipped rules with every `for:` set to 0s; returns (path, alert count)."""
    with open(ALERTS_YML, encoding="utf-8") as f:
        text = f.read()
    alerts = len(re.findall(r"^\s*- alert:", text, flags=re.M))
    text, n = re.subn(r"^(\s+)for:\s*\S+\s*$", r"\1for: 0s", text, flags=re.M)
    if n != alerts:
        raise Setup(f"alerts.yml: rewrote {n} `for:` lines but found {alerts} alerts")
    path = os.path.join(tmp, "alerts.yml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path, alerts


def dashboard_queries():
    """Every targets[].expr of the dashboard (rows and nested panels included) and every query
    variable's query, as (title, expr) with Grafana variables substituted."""
    with open(DASHBOARD_JSON, encoding="utf-8") as f:
        dash = json.load(f)
    exprs = []

    def walk(node, title):
        if isinstance(node, dict):
            title = node.get("title", title) if "targets" in node or "panels" in node else title
            for t in node.get("targets", []) if isinstance(node.get("targets"), list) else []:
                if isinstance(t, dict) and t.get("expr"):
                    exprs.append((title, t["expr"]))
            for k, v in node.items():
                if k != "targets" and k != "templating":
                    walk(v, title)
        elif isinstance(node, list):
            for v in node:
                walk(v, title)

    walk(dash, "?")
    variables = []
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            if q:
                variables.append((f"variable ${v.get('name')}", q))
    return exprs, variables


# The dashboard's variables are multi-value with "All" (allValue ".*"); interval variables get a
# window that holds several 2s scrapes. Any other variable fails its query's check by name.
SUBSTITUTIONS = {"account": ".*", "region": ".*", "__rate_interval": "1m", "__interval": "1m",
                 "__range": "1m", "__range_s": "60", "__range_ms": "60000",
                 "__interval_ms": "60000"}
VAR_RE = re.compile(r"\$\{([A-Za-z_]\w*)(?::[^}]*)?\}|\[\[([A-Za-z_]\w*)\]\]|\$([A-Za-z_]\w*)")


def substitute(expr):
    unknown = []

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in SUBSTITUTIONS:
            return SUBSTITUTIONS[name]
        unknown.append(name)
        return m.group(0)

    return VAR_RE.sub(repl, expr), unknown


# ------------------------------------------------------------------------------------ the test
def main():
    global STARTED, DEADLINE
    if not os.path.exists(BIN):
        print(f"== building {BIN}", flush=True)
        subprocess.run(["cargo", "build", "--quiet"], cwd=ROOT, check=True, timeout=900)
        STARTED = time.monotonic()
        DEADLINE = STARTED + BUDGET
    for tool in ("prometheus", "promtool", "prometheus-alertmanager"):
        if not shutil.which(tool):
            raise Setup(f"{tool} not found (Debian packages prometheus, prometheus-alertmanager)")

    def terminated(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")  # unwinds through `finally` below

    def over_budget(_signum, _frame):
        raise OverBudget()

    signal.signal(signal.SIGTERM, terminated)  # so that `finally` stops the children
    signal.signal(signal.SIGALRM, over_budget)
    # Waits are capped by DEADLINE already; this is the backstop for a call that blocks anyway.
    signal.alarm(int(remaining()) + 30)
    tmp = tempfile.mkdtemp(prefix="posture-e2e-")
    children = Children(tmp)
    c = Checks()
    interrupted = False
    try:
        run(tmp, children, c)
    except KeyboardInterrupt:
        interrupted = True
    except OverBudget:
        c.check("the run ends within its time budget", False,
                f"still running after {time.monotonic() - STARTED:.0f}s (POSTURE_E2E_BUDGET)")
    except Setup as e:
        c.check("set-up", False, str(e))
    except Exception as e:  # an unexpected error is a failure with logs, not a traceback only
        where = "".join(traceback.format_exc().splitlines(keepends=True)[-6:])
        c.check("unexpected error", False, f"{type(e).__name__}: {e}\n{where}")
    finally:
        signal.alarm(0)
        if c.failed:
            dead = children.dead()
            if dead:
                print(f"exited children: {dead}")
            children.dump_logs()
        children.stop_all()
        if os.environ.get("POSTURE_E2E_KEEP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"e2e: {c.passed} passed, {c.failed} failed ({time.monotonic() - STARTED:.0f}s)"
          + (", interrupted" if interrupted else ""))
    return 130 if interrupted else 1 if c.failed else 0


def run(tmp, children, c):
    cert, key = make_certificate(tmp)
    hashed = bcrypt_hash(PASSWORD)
    rules_path, alert_count = fast_alerts(tmp)

    # -- the exporters
    # The demo reads GuardDuty as the organization's administrator, so the coverage panels and
    # alerts (administrator-only families) have data; the browser test runs the default mode.
    # 24 members rather than the demo's 5: Security Hub's `IAM.6` then fails in more than the
    # ten accounts AwsSecurityHubControlFailingInManyAccounts asks for.
    children.start("demo", [BIN, "demo", "--listen", "127.0.0.1:0", "--interval", "5s",
                            "--accounts", "24", "--guardduty-mode", "administrator"])
    children.start("simulate", [BIN, "simulate", "--listen", "127.0.0.1:0", "--accounts", "2",
                                "--seed", "99"])
    demo_metrics = children.stdout_line("demo", "metrics:")
    demo_base = demo_metrics.rsplit("/metrics", 1)[0]
    sim_url = children.stdout_line("simulate", "simulated AWS at")

    tls_port = free_port()
    tls_base = f"https://127.0.0.1:{tls_port}"
    exporter_cfg = os.path.join(tmp, "exporter.yaml")
    with open(exporter_cfg, "w", encoding="utf-8") as f:
        f.write(f"""listen: "127.0.0.1:{tls_port}"
aws:
  region: us-east-1
  endpoint_url: "{sim_url}"
  max_attempts: 3
targets:
  - name: management
    regions: [us-east-1]
collectors:
  config_recorder: {{interval: 5s}}
  config_org_rules: {{enabled: false}}
  config_org_conformance_packs: {{enabled: false}}
  config_aggregators: {{enabled: false}}
  config_compliance: {{enabled: false}}
  guardduty: {{enabled: false}}
  iam_access_report: {{enabled: false}}
web:
  tls:
    cert_file: "{cert}"
    key_file: "{key}"
  basic_auth_users:
    {USER}: "{hashed}"
""")
    children.start("tls-exporter", [BIN, "--config", exporter_cfg],
                   env={"AWS_ACCESS_KEY_ID": "AKIAE2EMANAGEMENT001", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_EC2_METADATA_DISABLED": "true"})

    # -- Alertmanager
    am_port = free_port()
    am_base = f"http://127.0.0.1:{am_port}"
    am_cfg = os.path.join(tmp, "alertmanager.yml")
    with open(am_cfg, "w", encoding="utf-8") as f:
        f.write("route:\n  receiver: drop\n  group_wait: 1s\n  group_interval: 1s\n"
                "  repeat_interval: 1h\nreceivers:\n  - name: drop\n")
    os.makedirs(os.path.join(tmp, "am-data"))
    children.start("alertmanager", ["prometheus-alertmanager", f"--config.file={am_cfg}",
                                    f"--storage.path={os.path.join(tmp, 'am-data')}",
                                    f"--web.listen-address=127.0.0.1:{am_port}",
                                    "--cluster.listen-address="])

    # -- Prometheus
    password_file = os.path.join(tmp, "scrape.password")
    with open(password_file, "w", encoding="utf-8") as f:
        f.write(PASSWORD)
    prom_port = free_port()
    prom = f"http://127.0.0.1:{prom_port}"
    demo_target = urllib.parse.urlsplit(demo_base).netloc
    prom_cfg = os.path.join(tmp, "prometheus.yml")
    with open(prom_cfg, "w", encoding="utf-8") as f:
        f.write(f"""global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 2s
rule_files: ["{rules_path}"]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{am_port}"]
scrape_configs:
  - job_name: {DEMO_JOB}
    static_configs:
      - targets: ["{demo_target}"]
  - job_name: {TLS_JOB}
    scheme: https
    tls_config:
      ca_file: "{cert}"
    basic_auth:
      username: {USER}
      password_file: "{password_file}"
    static_configs:
      - targets: ["127.0.0.1:{tls_port}"]
  - job_name: {NOAUTH_JOB}
    scheme: https
    tls_config:
      ca_file: "{cert}"
    static_configs:
      - targets: ["127.0.0.1:{tls_port}"]
""")
    r = subprocess.run(["promtool", "check", "config", prom_cfg], capture_output=True, text=True,
                       timeout=max(5, remaining()))
    c.check("promtool check config (with the shipped rules, for: 0s)", r.returncode == 0,
            r.stdout + r.stderr)
    os.makedirs(os.path.join(tmp, "prom-data"))
    backfill_critical_findings(demo_base, demo_target, os.path.join(tmp, "prom-data"), tmp, c)
    children.start("prometheus", ["prometheus", f"--config.file={prom_cfg}",
                                  f"--storage.tsdb.path={os.path.join(tmp, 'prom-data')}",
                                  f"--web.listen-address=127.0.0.1:{prom_port}"])

    def ready(url, **kw):
        return lambda: (http_get(url, **kw)[0] == 200, None)

    for name, url, kw in (("Prometheus", f"{prom}/-/ready", {}),
                          ("Alertmanager", f"{am_base}/-/ready", {}),
                          ("demo /ready", f"{demo_base}/ready", {}),
                          ("TLS exporter /healthz", f"{tls_base}/healthz", {"cafile": cert})):
        ok, last = wait_until(name, ready(url, **kw), 60, 0.5)
        if not ok:
            raise Setup(f"{name} not ready within 60s: {last}")

    def query(expr):
        d = get_json(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        if d.get("status") != "success":
            raise RuntimeError(f"query {expr!r}: {d}")
        return d["data"]["result"]

    def target(job):
        """The job's target as {health, lastError, scrapeUrl} (None before discovery)."""
        d = get_json(f"{prom}/api/v1/targets?state=active")
        t = next((t for t in d["data"]["activeTargets"] if t["labels"].get("job") == job), None)
        return t and {k: t.get(k) for k in ("health", "lastError", "scrapeUrl")}

    def target_is(job, health, error_has=""):
        def probe():
            t = target(job)
            return bool(t and t["health"] == health and error_has in (t["lastError"] or "")), t
        return probe

    def has_data(expr):
        return lambda: (bool(query(expr)), None)

    # -- the scrape
    ok, t = wait_until("demo target up", target_is(DEMO_JOB, "up"), 30)
    c.check("Prometheus scrapes the demo: target up", ok, f"target: {t}")
    ok, _ = wait_until("up == 1", has_data(f'up{{job="{DEMO_JOB}"}} == 1'), 20)
    c.check(f'up{{job="{DEMO_JOB}"}} == 1', ok)

    # -- promtool check metrics on the demo's exposition
    status, headers, body = http_get(demo_metrics, headers={"Accept": "text/plain"})
    ptool = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           text=True, timeout=max(5, remaining()))
    lint = (ptool.stdout + ptool.stderr).strip()
    c.check("promtool check metrics accepts the demo's exposition",
            status == 200 and ptool.returncode == 0 and not lint,
            f"HTTP {status}, content-type {headers.get('content-type')}, promtool exit "
            f"{ptool.returncode}: {lint[:2000]}")

    # -- rules evaluate without error
    def rules_ok():
        d = get_json(f"{prom}/api/v1/rules?type=alert")
        rules = [r for g in d["data"]["groups"] for r in g["rules"]]
        bad = [(r["name"], r.get("health"), r.get("lastError")) for r in rules
               if r.get("health") != "ok"]
        return len(rules) == alert_count and not bad, (len(rules), bad)

    ok, detail = wait_until("rules healthy", rules_ok, 30)
    c.check(f"Prometheus loaded all {alert_count} alerting rules and each evaluates without error",
            ok, f"(rules loaded, unhealthy): {detail}")

    # -- the two alerts, against the exporter's own series
    def expected():
        _, _, text = http_get(demo_metrics, headers={"Accept": "text/plain"})
        series = parse_exposition(text)
        member = {(l["rule"], l["account_id"], l["status"], l["error_code"])
                  for n, l, v in series if n == "aws_config_org_rule_member_status"
                  and re.fullmatch(r".*_FAILED", l["status"]) and v == 1}
        findings = {(l["account_id"], l["region"], l["severity"]): v
                    for n, l, v in series if n == "aws_guardduty_findings"
                    and l["severity"] in ("high", "critical") and v > 0}
        return member, findings

    def firing(name):
        d = get_json(f"{prom}/api/v1/alerts")
        return [a for a in d["data"]["alerts"] if a["labels"].get("alertname") == name
                and a["state"] == "firing" and a["labels"].get("job") == DEMO_JOB]

    def member_set(alerts):
        return {(a["labels"].get("rule"), a["labels"].get("account_id"), a["labels"].get("status"),
                 a["labels"].get("error_code")) for a in alerts}

    def gd_set(alerts):
        return {(a["labels"].get("account_id"), a["labels"].get("region"),
                 a["labels"].get("finding_severity")):
                float(a["value"]) for a in alerts}

    def alerts_match():
        member, findings = expected()
        m, g = firing(MEMBER_ALERT), firing(GUARDDUTY_ALERT)
        ok = bool(member) and bool(findings) and member_set(m) == member and gd_set(g) == findings
        return ok, (member, findings, m, g)

    ok, last = wait_until("alerts firing", alerts_match, 60, 1.0)
    if not isinstance(last, tuple):  # every probe raised: report why, and let the checks fail
        print(f"        (no alert data: {last})")
        last = (set(), {}, [], [])
    member, findings, m_alerts, g_alerts = last
    c.check("the demo holds *_FAILED member deployments and high/critical findings",
            bool(member) and bool(findings), f"member: {member}, findings: {findings}")
    created = [a for a in m_alerts if a["labels"].get("status") == "CREATE_FAILED"]
    c.check(f"{MEMBER_ALERT} firing: one alert per member_status series (rule, account_id, "
            f"status, error_code), {len(created)} of them CREATE_FAILED",
            member_set(m_alerts) == member and created,
            f"only in the exposition: {sorted(member - member_set(m_alerts))}; only in alerts: "
            f"{sorted(member_set(m_alerts) - member)}")
    bad = []
    for a in m_alerts:
        lb, an = a["labels"], a.get("annotations", {})
        want = (f"Organization Config rule {lb.get('rule')} is {lb.get('status')} in account "
                f"{lb.get('account_id')}")
        if lb.get("severity") != "warning" or an.get("summary") != want \
                or f"(error code {lb.get('error_code')})" not in an.get("description", ""):
            bad.append((lb, an.get("summary")))
    c.check(f"{MEMBER_ALERT}: severity=warning, summary and description name rule, account, "
            "status and error code", m_alerts and not bad, f"{bad[:3]}")

    # The alert links to the overview's section of the exporter that exported it (no
    # web.external_url in the demo: http:// and the scraped instance), and the link works.
    links = {a.get("annotations", {}).get("overview") for a in m_alerts}
    want_link = f"{demo_base}/?section=failed_deployments"
    ok_link = links == {want_link}
    page = ""
    if ok_link:
        st, _, page = http_get(want_link)
        ok_link = st == 200 and 'id="failed_deployments"' in page
    c.check(f"{MEMBER_ALERT}: the overview annotation links to the page's failed-deployments "
            "list, which answers", ok_link, f"links {links}, want {want_link}: {page[:200]}")

    got = gd_set(g_alerts)
    c.check(f"{GUARDDUTY_ALERT} firing: one alert per aws_guardduty_findings series > 0 with "
            "(account_id, region, finding_severity in high|critical) and its value",
            got == findings and all(k[2] in ("high", "critical") for k in got),
            f"exposition: {findings}\n        alerts: {got}")
    bad = []
    for a in g_alerts:
        lb, an = a["labels"], a.get("annotations", {})
        # Annotations are rendered from the expression's labels, where `severity` is still the
        # finding's severity; the rule's `severity: critical` only replaces it in the alert labels.
        want = (f"{float(a['value']):g} {lb.get('finding_severity')} GuardDuty finding(s) in "
                f"account {lb.get('account_id')} region {lb.get('region')}")
        if lb.get("severity") != "critical" or an.get("summary") != want:
            bad.append((lb, an.get("summary"), want))
    c.check(f"{GUARDDUTY_ALERT}: routing severity=critical, summary gives count, finding "
            "severity, account and region", g_alerts and not bad, f"{bad[:3]}")

    # -- Alertmanager received them
    def am_has():
        alerts = get_json(f"{am_base}/api/v2/alerts?active=true")
        have = {(a["labels"].get("alertname"), frozenset(a["labels"].items())) for a in alerts
                if a.get("status", {}).get("state") == "active"}
        want = {(a["labels"]["alertname"], frozenset(a["labels"].items()))
                for a in m_alerts + g_alerts}
        return want <= have, want - have

    ok, missing = wait_until("Alertmanager has the alerts", am_has, 60, 1.0)
    c.check(f"Alertmanager /api/v2/alerts lists all {len(m_alerts)} {MEMBER_ALERT} and "
            f"{len(g_alerts)} {GUARDDUTY_ALERT} alerts, active, with the same labels",
            ok and bool(m_alerts),
            f"missing: {sorted(missing, key=str)[:5] if missing else missing}")

    # -- the compliance alerts, against the exporter's own series, and in Alertmanager
    def compliance_expected():
        _, _, text = http_get(demo_metrics, headers={"Accept": "text/plain"})
        series = parse_exposition(text)
        capped = {(l["account_id"], l["region"], l["rule"]): v for n, l, v in series
                  if n == "aws_config_rule_noncompliant_resources_capped"}
        rules = {(l["account_id"], l["region"], l["rule"],
                  "capped" if capped.get((l["account_id"], l["region"], l["rule"])) == 1
                  else "exact"): v
                 for n, l, v in series if n == "aws_config_rule_noncompliant_resources"}
        packs = {(l["account_id"], l["region"], l["pack"]): v for n, l, v in series
                 if n == "aws_config_conformance_pack_noncompliant_rules" and v > 0}
        return rules, packs

    def compliance_firing():
        r = {(a["labels"].get("account_id"), a["labels"].get("region"), a["labels"].get("rule"),
              a["labels"].get("resource_count")): float(a["value"])
             for a in firing(RULE_ALERT)}
        p = {(a["labels"].get("account_id"), a["labels"].get("region"), a["labels"].get("pack")):
             float(a["value"]) for a in firing(PACK_ALERT)}
        return r, p

    def compliance_match():
        rules, packs = compliance_expected()
        r, p = compliance_firing()
        return bool(rules) and bool(packs) and r == rules and p == packs, (rules, packs, r, p)

    ok, last = wait_until("compliance alerts firing", compliance_match, 60, 1.0)
    if not isinstance(last, tuple):
        last = ({}, {}, {}, {})
    rules, packs, r_alerts, p_alerts = last
    c.check(f"{RULE_ALERT} firing: one alert per aws_config_rule_noncompliant_resources series, "
            f"with its count and resource_count capped|exact ({len(rules)} expected, "
            f"{sum(1 for k in rules if k[3] == 'capped')} capped)",
            bool(rules) and r_alerts == rules and any(k[3] == "capped" for k in rules),
            f"only in the exposition: {sorted(set(rules) - set(r_alerts))[:5]}; only in alerts: "
            f"{sorted(set(r_alerts) - set(rules))[:5]}")
    c.check(f"{PACK_ALERT} firing: one alert per pack with non-compliant rules ({len(packs)})",
            bool(packs) and p_alerts == packs, f"exposition: {packs}\n        alerts: {p_alerts}")

    def am_has_compliance():
        alerts = get_json(f"{am_base}/api/v2/alerts?active=true")
        names = collections.Counter(a["labels"].get("alertname") for a in alerts
                                    if a.get("status", {}).get("state") == "active"
                                    and a["labels"].get("job") == DEMO_JOB)
        return names[RULE_ALERT] == len(rules) and names[PACK_ALERT] == len(packs), names

    ok, names = wait_until("Alertmanager has the compliance alerts", am_has_compliance, 60, 1.0)
    c.check(f"Alertmanager lists the {len(rules)} {RULE_ALERT} and {len(packs)} {PACK_ALERT} "
            "alerts, active", ok and bool(rules), f"{names}")

    # -- GuardDuty coverage (the demo reads GuardDuty as the administrator): each alert fires,
    #    as many times as its own expression has series in Prometheus, and reaches Alertmanager
    # (with them, the organization conformance pack deployments failed in a member, which the
    #  demo has in every failed pack)
    coverage = ["AwsGuardDutyProtectionPlanDisabledDespiteAutoEnable",
                "AwsGuardDutyOrgAccountNotCovered", "AwsGuardDutyRuntimeCoverageUnhealthy",
                # The administrator's lists and its members' invitations: a threat-intel set in
                # ERROR, a suppression rule that can archive high findings, an old invitation.
                "AwsGuardDutyThreatListInError", "AwsGuardDutyArchiveFilterCanHideHighFindings",
                "AwsGuardDutyInvitationPendingTooLong",
                # A high finding older than a day (the simulator dates findings up to 45 days).
                "AwsGuardDutyFindingOverdue",
                "AwsConfigOrgConformancePackMemberDeploymentFailed",
                # The demo reads every enabled region: af-south-1, which some members opted into,
                # has no recorder, and the organization collectors placed in the listed regions
                # do not read it.
                "AwsConfigRecorderMissing", "AwsEnabledRegionUnwatched",
                # Config data that does not flow: the demo has an S3 delivery failing with
                # AccessDenied, rules whose evaluations fail, recorders of part of an account.
                "AwsConfigDeliveryFailing", "AwsConfigRuleEvaluationFailing",
                "AwsConfigRecorderPartial",
                # Security Hub reads every region its administrator enables: the administrator
                # opted into af-south-1, where Security Hub is off.
                "AwsSecurityHubNotEnabled",
                # The administrator's CIS subscription is INCOMPLETE outside the home region; the
                # central configuration failed to apply to member 3; IAM.6 fails in more than ten
                # accounts of a region.
                "AwsSecurityHubStandardNotReady", "AwsSecurityHubPolicyAssociationFailed",
                "AwsSecurityHubControlFailingInManyAccounts",
                # More CRITICAL findings than an hour ago: the history written before
                # Prometheus started (backfill_critical_findings).
                "AwsSecurityHubNewCriticalFindings"]
    exprs_by_name = {}
    import yaml as _yaml  # PyYAML comes with the venv's kubernetes-validate
    with open(ALERTS_YML, encoding="utf-8") as f:
        for g in _yaml.safe_load(f)["groups"]:
            for r in g["rules"]:
                if r.get("alert") in coverage:
                    exprs_by_name[r["alert"]] = r["expr"]

    def coverage_match():
        got = {}
        for name in coverage:
            want = len([x for x in query(exprs_by_name[name])
                        if x["metric"].get("job") == DEMO_JOB])
            got[name] = (want, len(firing(name)))
        return all(w > 0 and w == n for w, n in got.values()), got

    ok, got = wait_until("GuardDuty coverage alerts firing", coverage_match, 60, 1.0)
    c.check("GuardDuty coverage and list alerts (plan off despite auto-enable, account not "
            "covered, unhealthy runtime coverage, a set in ERROR, a suppression rule that can hide "
            "high findings, an invitation pending for over 7 days, a finding past its remediation "
            "age), failed org conformance pack deployments, an opted-in region without a recorder, "
            "enabled regions an organization collector does not read, failed Config deliveries, "
            "failing rule evaluations, partial recorders, a region where Security Hub is off, a "
            "standard not READY, a failed policy association, a control failing in many "
            "accounts and more critical findings than an hour ago fire, one per series of their "
            "expression",
            ok, f"(expected, firing) per alert: {got}")

    def am_has_coverage():
        alerts = get_json(f"{am_base}/api/v2/alerts?active=true")
        names = collections.Counter(a["labels"].get("alertname") for a in alerts
                                    if a.get("status", {}).get("state") == "active")
        return all(names[n] > 0 for n in coverage), names

    ok, names = wait_until("Alertmanager has the coverage alerts", am_has_coverage, 60, 1.0)
    c.check("Alertmanager lists the GuardDuty coverage alerts, active", ok, f"{names}")

    # -- exceptions: the demo accepts one account's missing Config recorder in one region
    #    (`sandbox-config-off`). AwsConfigRecorderMissing fires for every other recorder-less
    #    (account, region) of the exposition and not for that one; the demo's other exception
    #    (`lab-regions`) has a review date in the past, so PostureExceptionReviewOverdue fires.
    def exceptions_expected():
        _, _, text = http_get(demo_metrics, headers={"Accept": "text/plain"})
        series = parse_exposition(text)
        missing = {(l["account_id"], l["region"]) for n, l, v in series
                   if n == "aws_config_recorders" and v == 0}
        excepted = {(l["account_id"], l["region"]) for n, l, v in series
                    if n == "posture_exporter_exception" and l["signal"] == "config_recorder"}
        overdue = {l["exception"] for n, l, v in series
                   if n == "posture_exporter_exception_review_timestamp_seconds"
                   and v < time.time()}
        return missing, excepted, overdue

    def exceptions_match():
        missing, excepted, overdue = exceptions_expected()
        fired = {(a["labels"].get("account_id"), a["labels"].get("region"))
                 for a in firing("AwsConfigRecorderMissing")}
        reviews = {a["labels"].get("exception") for a in firing("PostureExceptionReviewOverdue")}
        ok = bool(excepted) and excepted <= missing and fired == missing - excepted \
            and bool(fired) and reviews == overdue and bool(overdue)
        return ok, (missing, excepted, fired, overdue, reviews)

    ok, got = wait_until("exceptions honoured", exceptions_match, 60, 1.0)
    c.check("an exception silences exactly its gap: AwsConfigRecorderMissing fires for every "
            "aws_config_recorders == 0 but the excepted (account, region), which the exposition "
            "names in posture_exporter_exception; PostureExceptionReviewOverdue fires for the "
            "exception whose review date has passed", ok,
            f"(missing, excepted, firing, overdue, review alerts): {got}")

    # -- the dashboard: every query returns data (rate() over [5m] needs two scrapes: by now
    #    Prometheus has scraped for well over 4 s; the IAM report panels wait for the demo's
    #    report job to complete, one 5s poll after the start: retried for up to 45 s)
    exprs, variables = dashboard_queries()
    pending = {}
    for title, expr in exprs:
        q, unknown = substitute(expr)
        if unknown:
            c.check(f"dashboard panel {title!r}", False,
                    f"unknown Grafana variable(s) {unknown} in {expr}")
        else:
            pending[(title, expr)] = q
    results = {}
    began = time.monotonic()
    late = {}  # panels that returned data only after a retry, with the wait
    end = began + min(45, remaining())
    while True:
        for k, q in list(pending.items()):
            if remaining() <= 0:
                results.setdefault(k, "not queried: the run's time budget is spent")
                continue
            try:
                res = query(q)
                results[k] = f"{len(res)} series"
                if res:
                    del pending[k]
                    if time.monotonic() - began > 1:
                        late[k[0]] = time.monotonic() - began
            except Exception as e:  # a bad query: keep its error for the report
                results[k] = f"{type(e).__name__}: {e}"
        if not pending or time.monotonic() > end:
            break
        time.sleep(2)
    for i, ((title, expr), q) in enumerate(pending.items()):
        if i < 8:
            c.check(f"dashboard panel {title!r} returns data", False,
                    f"{q}\n        -> {results[(title, expr)]}")
        else:  # counted, not printed: the first ones tell the story
            c.failed += 1
    if len(pending) > 8:
        print(f"  FAIL  ... and {len(pending) - 8} more dashboard queries", flush=True)
    c.passed += len(results) - len(pending)
    print(f"  {'ok  ' if not pending else 'FAIL'}  dashboard: {len(results) - len(pending)} of "
          f"{len(results)} panel queries return data" + (
              " (after waiting: " + ", ".join(f"{t!r} {w:.0f}s" for t, w in late.items()) + ")"
              if late else ""), flush=True)
    for title, q in variables:
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", q)
        if not m:
            c.check(f"dashboard {title}", False, f"not label_values(selector, label): {q}")
            continue
        selector, _ = substitute(m.group(1))
        d = get_json(f"{prom}/api/v1/label/{m.group(2)}/values?"
                     + urllib.parse.urlencode({"match[]": selector}))
        c.check(f"dashboard {title} ({q}) has values", bool(d.get("data")), f"{d}")

    # -- TLS and basic auth
    ok, t = wait_until("TLS target up", target_is(TLS_JOB, "up"), 40)
    c.check("Prometheus scrapes the exporter over HTTPS with basic auth: target up", ok,
            f"target: {t}")
    ok, _ = wait_until("TLS series", has_data(f'aws_config_recorders{{job="{TLS_JOB}"}}'), 30)
    c.check(f'aws_config_recorders{{job="{TLS_JOB}"}} present in Prometheus', ok)
    ok, t = wait_until("no-auth probe down", target_is(NOAUTH_JOB, "down", "401"), 30)
    c.check("a Prometheus job without credentials is down with HTTP 401", ok, f"target: {t}")

    metrics_url = f"{tls_base}/metrics"
    status, headers, _ = http_get(metrics_url, cafile=cert)
    c.check("HTTPS /metrics without credentials: 401 with WWW-Authenticate: Basic",
            status == 401 and headers.get("www-authenticate", "").lower().startswith("basic"),
            f"HTTP {status}, headers {headers}")
    for what, hdr in (("a wrong password", basic(USER, PASSWORD + "x")),
                      ("an unknown user", basic("nobody", PASSWORD))):
        status, headers, _ = http_get(metrics_url, headers=hdr, cafile=cert, timeout=20)
        c.check(f"HTTPS /metrics with {what}: 401", status == 401
                and "www-authenticate" in headers, f"HTTP {status}")
    status, headers, body = http_get(metrics_url, headers=dict(basic(USER, PASSWORD),
                                                               Accept="text/plain"),
                                     cafile=cert, timeout=20)
    c.check("HTTPS /metrics with the right credentials: 200 with the recorders' metrics",
            status == 200 and "aws_config_recorders{" in body
            and "posture_exporter_build_info" in body, f"HTTP {status}: {body[:300]}")
    ptool = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           text=True, timeout=max(5, remaining()))
    lint = (ptool.stdout + ptool.stderr).strip()
    c.check("promtool check metrics accepts the TLS exporter's exposition",
            ptool.returncode == 0 and not lint, lint[:2000])
    for path in ("/healthz", "/ready"):
        status, _, body = http_get(tls_base + path, cafile=cert)
        c.check(f"HTTPS {path} without credentials: 200", status == 200,
                f"HTTP {status}: {body[:200]}")
    try:
        status, _, body = http_get(f"http://127.0.0.1:{tls_port}/metrics", timeout=5)
        plain = f"HTTP {status}"
        leaked = status == 200 or "aws_config_recorders" in body
    except (OSError, http.client.HTTPException) as e:
        plain, leaked = f"{type(e).__name__}", False
    c.check(f"plain HTTP to the TLS port serves no metrics ({plain})", not leaked, plain)

    dead = children.dead()
    c.check("no child exited during the test", not dead, f"{dead}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Setup as e:
        print(f"e2e: cannot run: {e}", file=sys.stderr)
        sys.exit(2)
