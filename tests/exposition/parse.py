"""Reads an exposition with the Python prometheus_client package's parsers, which no one here
wrote: the Prometheus text 0.0.4 parser, or the strict OpenMetrics 1.0 parser. Prints every
family as JSON (name, type, HELP, samples with their unescaped labels) so that the Rust test can
compare what came back with what went in. A body the parser refuses fails with its message.

usage: parse.py prometheus|openmetrics FILE
"""

import json
import math
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
from prometheus_client.parser import text_string_to_metric_families as prometheus


def main():
    fmt, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    parse = openmetrics if fmt == "openmetrics" else prometheus
    out = []
    for fam in parse(text):
        samples = []
        for s in fam.samples:
            v = s.value
            samples.append([s.name, s.labels, None if math.isnan(v) else v])
        out.append({"name": fam.name, "type": fam.type, "help": fam.documentation, "samples": samples})
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
