#!/usr/bin/env python3
"""What the exporter costs the Prometheus that scrapes it: a measurement, not a test.

    target/pyvenv/bin/python tests/e2e/prometheus_weight.py [--accounts 1000] [--scrapes 10]
        [--bin target/release/posture-exporter] [--prometheus prometheus]

Starts `posture-exporter demo --accounts N` on a loopback port, waits for /ready and for
`/status.json` to say `complete` (the organization listed and every job has made an attempt), then starts Debian's Prometheus (the one the e2e suite installs) in a temporary
directory, scraping the demo every 10 s and itself. After the demo has been scraped `--scrapes`
times it reads, through Prometheus's HTTP API and its own /metrics:

- the head series (`prometheus_tsdb_head_series`) and the series the demo's scrape brings
  (`scrape_samples_scraped`), per account;
- the share of the demo's `aws_` series whose value is 0;
- Prometheus's resident set (`process_resident_memory_bytes` of its own /metrics) read before
  the counting queries below (which select every series and grow its heap), the highest it
  reported during the run, its Go heap in use, and its resident set again after the queries;
- the demo's scrape duration.

It prints one line per figure and, last, a JSON object with all of them. Every wait is bounded;
both children are stopped at the end. Exit status 2 when a tool is missing, 1 when a wait ran out.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def query(prom, expr):
    q = urllib.parse.urlencode({"query": expr})
    doc = json.loads(get(f"http://{prom}/api/v1/query?{q}"))
    result = doc["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def wait_for(what, check, timeout, every=2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            v = check()
            if v:
                return v
        except OSError:
            pass
        time.sleep(every)
    raise TimeoutError(f"{what} not within {timeout:.0f}s")


def own_metric(prom, name):
    for line in get(f"http://{prom}/metrics").splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--scrapes", type=int, default=10)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "posture-exporter"))
    ap.add_argument("--prometheus", default="prometheus")
    ap.add_argument("--ready-timeout", type=float, default=900)
    args = ap.parse_args()

    prometheus = shutil.which(args.prometheus)
    if not prometheus or not os.path.exists(args.bin):
        print(f"missing: {args.prometheus if not prometheus else args.bin}", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="prometheus-weight-")
    demo_addr = f"127.0.0.1:{free_port()}"
    prom_addr = f"127.0.0.1:{free_port()}"
    children = []
    try:
        demo_log = open(os.path.join(work, "demo.log"), "w")
        children.append(subprocess.Popen(
            [args.bin, "demo", "--accounts", str(args.accounts), "--listen", demo_addr,
             "--log-level", "warn"],
            stdout=demo_log, stderr=subprocess.STDOUT, cwd=work))
        started = time.monotonic()
        wait_for("the demo's /ready", lambda: get(f"http://{demo_addr}/ready").strip() == "ready",
                 args.ready_timeout, every=5)
        # /ready may come while a large organization is still listed: wait for every account.
        wait_for("every account read", lambda: json.loads(get(f"http://{demo_addr}/status.json"))["complete"],
                 args.ready_timeout, every=5)
        ready_after = time.monotonic() - started
        print(f"demo ready after {ready_after:.0f}s ({args.accounts} accounts)")

        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write(
                "global:\n  scrape_interval: 10s\n  scrape_timeout: 10s\n"
                "scrape_configs:\n"
                f"  - job_name: demo\n    static_configs: [{{targets: ['{demo_addr}']}}]\n"
                f"  - job_name: prometheus\n    static_configs: [{{targets: ['{prom_addr}']}}]\n")
        prom_log = open(os.path.join(work, "prometheus.log"), "w")
        children.append(subprocess.Popen(
            [prometheus, f"--config.file={config}", f"--web.listen-address={prom_addr}",
             f"--storage.tsdb.path={os.path.join(work, 'data')}"],
            stdout=prom_log, stderr=subprocess.STDOUT, cwd=work))
        wait_for("Prometheus", lambda: get(f"http://{prom_addr}/-/ready"), 60)
        # up{job="demo"} gets one sample per scrape: count them over the run.
        window = 10 * (args.scrapes + 2)
        scrapes = wait_for(
            f"{args.scrapes} scrapes of the demo",
            lambda: (lambda n: n if n and n >= args.scrapes else None)(
                query(prom_addr, f'count_over_time(up{{job="demo"}}[{window}s])')),
            10 * args.scrapes + 120, every=5)
        # Prometheus's own memory first: the counting queries below select every series of
        # the demo and make the Go heap grow for a while, which is the cost of those queries,
        # not of holding the scraped series. Read again after them, for comparison.
        rss_at_rest = own_metric(prom_addr, "process_resident_memory_bytes")
        heap_at_rest = own_metric(prom_addr, "go_memstats_heap_inuse_bytes")
        figures = {
            "accounts": args.accounts,
            "demo_ready_seconds": round(ready_after, 1),
            "scrapes": int(scrapes),
            "head_series": query(prom_addr, "prometheus_tsdb_head_series"),
            "demo_series": query(prom_addr, 'scrape_samples_scraped{job="demo"}'),
            "aws_series": query(prom_addr, 'count({job="demo",__name__=~"aws_.+"})'),
            "aws_zero_series": query(prom_addr, 'count({job="demo",__name__=~"aws_.+"} == 0)') or 0,
            "scrape_seconds": query(prom_addr, 'scrape_duration_seconds{job="demo"}'),
            "prometheus_rss_bytes": rss_at_rest,
            "prometheus_rss_after_queries_bytes": own_metric(prom_addr, "process_resident_memory_bytes"),
            # The resident set at the moment moves with the Go collector's cycle: also the
            # highest of the run (Prometheus scrapes itself every 10 s) and the heap in use.
            "prometheus_rss_max_bytes": query(
                prom_addr, f'max_over_time(process_resident_memory_bytes{{job="prometheus"}}[{window}s])'),
            "prometheus_heap_inuse_bytes": heap_at_rest,
        }
        figures["demo_series_per_account"] = round(figures["demo_series"] / args.accounts, 1)
        figures["aws_zero_share"] = round(figures["aws_zero_series"] / figures["aws_series"], 3)
        print(f"head series: {figures['head_series']:.0f}")
        print(f"demo series: {figures['demo_series']:.0f} "
              f"({figures['demo_series_per_account']} per account)")
        print(f"aws_ series at 0: {figures['aws_zero_series']:.0f} of {figures['aws_series']:.0f} "
              f"({100 * figures['aws_zero_share']:.1f}%)")
        print(f"demo scrape: {figures['scrape_seconds']:.3f}s")
        print(f"Prometheus resident after {figures['scrapes']} scrapes: "
              f"{figures['prometheus_rss_bytes'] / 1e6:.0f} MB (highest of the run "
              f"{figures['prometheus_rss_max_bytes'] / 1e6:.0f} MB; heap in use "
              f"{figures['prometheus_heap_inuse_bytes'] / 1e6:.0f} MB; after this script's "
              f"counting queries {figures['prometheus_rss_after_queries_bytes'] / 1e6:.0f} MB)")
        print(json.dumps(figures))
        return 0
    except TimeoutError as e:
        print(f"prometheus_weight: {e}; logs in {work}", file=sys.stderr)
        return 1
    finally:
        for c in children:
            c.terminate()
        for c in children:
            try:
                c.wait(timeout=20)
            except subprocess.TimeoutExpired:
                c.kill()


if __name__ == "__main__":
    sys.exit(main())
