"""Runs last (files run in name order): every operation the simulator serves was called through
botocore in this session, answered successfully and wire-checked. The list is read from the
simulator's sources (constraints.served_operations, the same list the constraint table is
generated for), so an operation added there without a test here fails this suite."""

from constraints import served_operations


def test_every_served_operation_was_checked(checker):
    ops = served_operations()
    # A floor, so that a regex that finds nothing cannot pass vacuously.
    assert len(ops) >= 21, sorted(ops)
    missing = sorted(ops - checker.answered)
    assert not missing, f"served by the simulator but never answered to botocore here: {missing}"
