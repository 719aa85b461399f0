"""The chaos drills (chaos/drills.py) at small scale: after every fault, each acknowledged
record is read back exactly once and every partition's offsets are contiguous."""

import pytest

from chaos.drills import DRILLS
from chaos.harness import Env


@pytest.mark.timeout(90)
@pytest.mark.parametrize("drill", list(DRILLS))
def test_drill(drill, moto_server, tmp_path):
    env = Env(workdir=tmp_path, s3_endpoint=moto_server)
    try:
        r = DRILLS[drill](env, "small")
    finally:
        env.close()
    print(r)
    assert r.acknowledged > 100, "the producer should have had records acknowledged"
    assert r.lost == 0, f"{r.lost} acknowledged records lost: {r}"
    assert r.duplicated == 0, f"{r.duplicated} duplicated records: {r}"
    assert r.contiguous, f"offset gaps: {r.gaps}"
    assert r.failover_s is not None, "no acknowledgement after the fault"
    if drill in ("4", "4b"):
        # The zombie gave its leases up on its own before they could run out, and whatever
        # it had acknowledged but not committed reached the new leader.
        assert r.counters["gave_up_leases"] >= 1, r.notes
        assert r.counters["dropped"] == 0, r.notes
