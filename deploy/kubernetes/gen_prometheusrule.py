#!/usr/bin/env python3
"""Writes prometheusrule.yaml from ../prometheus/alerts.yml, so the Prometheus Operator gets the
same rules that promtool tests. Run it after every change to alerts.yml:

    python3 deploy/kubernetes/gen_prometheusrule.py          # rewrite
    python3 deploy/kubernetes/gen_prometheusrule.py --check  # exit 1 if out of date (for CI)

The rules are copied as text (indented under `spec:`), comments included, so the two files read
the same; with PyYAML installed the result is also checked to parse to the same groups.
"""
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE.parent / "prometheus" / "alerts.yml"
TARGET = HERE / "prometheusrule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/alerts.yml by deploy/kubernetes/gen_prometheusrule.py: do not edit
# by hand; edit alerts.yml (where promtool tests the rules), then rerun the script.
# Add the label your Prometheus' ruleSelector expects (for kube-prometheus-stack:
# `release: <release name>`).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: posture-exporter
  labels:
    app.kubernetes.io/name: posture-exporter
spec:
"""


def render() -> str:
    lines = SOURCE.read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("groups:"))
    body = ["  " + l if l.strip() else "" for l in lines[start:]]
    return HEADER + "\n".join(body) + "\n"


def main() -> int:
    text = render()
    try:
        import yaml
    except ImportError:
        yaml = None
    if yaml is not None:
        spec = yaml.safe_load(text)["spec"]
        if spec != yaml.safe_load(SOURCE.read_text()):
            print("generated spec differs from alerts.yml", file=sys.stderr)
            return 1
    if "--check" in sys.argv[1:]:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET} is out of date: run {pathlib.Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
