"""Runs last (files run in name order): every operation the simulator serves was called through
botocore in this session, answered successfully and wire-checked. The list is read from the
simulator's sources, so an operation added there without a test here fails this suite."""

import pathlib
import re

import botocore.session

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVICES = ["config", "organizations", "guardduty", "sts", "iam"]


def served_operations():
    text = "".join(p.read_text() for p in sorted((ROOT / "crates" / "aws-sim" / "src").glob("*.rs")))
    names = set(re.findall(r'"([A-Z][A-Za-z]+)"\s*=>', text)) | set(re.findall(r'=>\s*"([A-Z][A-Za-z]+)"', text))
    session = botocore.session.get_session()
    ops = set()
    for svc in SERVICES:
        model = session.get_service_model(svc)
        ops |= {f"{svc}.{n}" for n in names & set(model.operation_names)}
    return ops


def test_every_served_operation_was_checked(checker):
    ops = served_operations()
    # The brief's list, so that a regex that finds nothing cannot pass vacuously.
    assert len(ops) >= 21, sorted(ops)
    missing = sorted(ops - checker.answered)
    assert not missing, f"served by the simulator but never answered to botocore here: {missing}"
