import pytest

from storage.errors import InvalidProducerEpoch, OutOfOrderSequence
from storage.producers import AppendedBatch, ProducerStateTable
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


def test_earlier_batches_are_kept_for_the_catalogue_and_restored():
    table = ProducerStateTable()
    for seq in range(0, 18, 3):  # six batches of three
        table.record(header(4, 2, seq, 3), 100 + seq, None)
    earlier = table.earlier(4, 2, 115)  # what the catalogue keeps beside the sixth
    # The sixth batch follows the four before it (the first is forgotten, as in Kafka).
    assert earlier == tuple((s, s + 2, 100 + s, 102 + s) for s in (3, 6, 9, 12))
    assert table.earlier(4, 3, 118) == ()  # a new epoch starts afresh
    restored = ProducerStateTable()
    kept = (*earlier, (15, 17, 115, 117))
    restored.restore(4, 2, [AppendedBatch(first_sequence=first, last_sequence=last, base_offset=base,
                                          last_offset=end) for first, last, base, end in kept])
    for seq in (3, 9, 15):
        dup = restored.check(header(4, 2, seq, 3))
        assert dup is not None and dup.base_offset == 100 + seq
    assert restored.check(header(4, 2, 18, 3)) is None
    with pytest.raises(OutOfOrderSequence):
        restored.check(header(4, 2, 0, 3))


def test_stored_earlier_batches_are_kept_only_if_they_lead_to_the_last():
    from coordinator.catalogue import ProducerState, TopicId
    from storage.producers import stored_chain as _chain

    def state(first, last, base, end, earlier):
        return ProducerState(topic_id=TopicId("t"), partition=0, producer_id=4, producer_epoch=3,
                             first_sequence=first, last_sequence=last, base_offset=base,
                             last_offset=end, earlier=earlier)

    kept = ((0, 2, 10, 12), (3, 5, 13, 15))
    assert _chain(state(6, 8, 16, 18, kept)) == [*kept, (6, 8, 16, 18)]
    # A row an older agent rewrote for a new epoch (sequences restart at 0) keeps the
    # previous epoch's list: none of it is taken for this epoch.
    assert _chain(state(0, 4, 40, 44, kept)) == [(0, 4, 40, 44)]
    # Sequences wrap past 2**31 - 1 to 0.
    wrapped = ((2**31 - 3, 2**31 - 1, 7, 9),)
    assert _chain(state(0, 1, 10, 11, wrapped)) == [*wrapped, (0, 1, 10, 11)]
