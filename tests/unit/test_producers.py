import pytest

from storage.errors import InvalidProducerEpoch, OutOfOrderSequence
from storage.producers import ProducerStateTable
from storage.recordbatch import build_batch, read_header


def header(pid: int, epoch: int, seq: int, n: int = 1):
    return read_header(
        build_batch(
            [(None, b"v", [], 1)] * n, producer_id=pid, producer_epoch=epoch, base_sequence=seq
        )
    )


def test_sequences_duplicates_and_gaps():
    table = ProducerStateTable()
    assert table.check(header(7, 0, 0, 3)) is None
    table.record(header(7, 0, 0, 3), 100, None)
    dup = table.check(header(7, 0, 0, 3))
    assert dup is not None and dup.base_offset == 100
    with pytest.raises(OutOfOrderSequence):
        table.check(header(7, 0, 5))
    assert table.check(header(7, 0, 3)) is None


def test_epochs():
    table = ProducerStateTable()
    table.record(header(7, 1, 0), 0, None)
    with pytest.raises(InvalidProducerEpoch):
        table.check(header(7, 0, 1))
    with pytest.raises(OutOfOrderSequence):
        table.check(header(7, 2, 4))
    assert table.check(header(7, 2, 0)) is None


def test_only_recent_batches_are_remembered():
    table = ProducerStateTable()
    for i in range(8):
        table.record(header(1, 0, i), i, None)
    assert table.check(header(1, 0, 7)) is not None
    with pytest.raises(OutOfOrderSequence):
        table.check(header(1, 0, 0))
