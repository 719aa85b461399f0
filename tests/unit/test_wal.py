import asyncio
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.wal import WalEntry, WriteAheadLog, decode_entries, encode_entry


def entry(i: int) -> WalEntry:
    return WalEntry(
        topic_id=uuid.uuid4().hex,
        partition=i % 3,
        epoch=2,
        base_offset=i * 10,
        batch=b"x" * (i + 1),
    )


def test_entries_round_trip():
    entries = [entry(i) for i in range(5)]
    data = b"".join(encode_entry(e) for e in entries)
    decoded, good = decode_entries(data)
    assert decoded == entries
    assert good == len(data)


@given(st.integers(min_value=1, max_value=200))
@settings(max_examples=50, deadline=None)
def test_torn_tail_is_cut_at_the_last_whole_entry(cut):
    entries = [entry(i) for i in range(4)]
    encoded = [encode_entry(e) for e in entries]
    data = b"".join(encoded)
    cut = min(cut, len(encoded[-1]) - 1)
    decoded, good = decode_entries(data[: len(data) - cut])
    assert decoded == entries[:3]
    assert good == sum(len(e) for e in encoded[:3])


def test_corrupt_entry_stops_recovery_there():
    entries = [entry(i) for i in range(3)]
    encoded = [bytearray(encode_entry(e)) for e in entries]
    encoded[1][-1] ^= 0x55
    decoded, _ = decode_entries(b"".join(bytes(e) for e in encoded))
    assert decoded == entries[:1]


async def test_recover_truncates_the_file_and_release_deletes_segments(tmp_path):
    wal = WriteAheadLog(tmp_path, fsync="always")
    await wal.start()
    futures = [wal.append(entry(i)) for i in range(3)]
    await asyncio.gather(*futures)
    segment = wal.rotate()
    await wal.append(entry(7))
    await wal.close()
    files = wal.segments()
    assert len(files) == 2
    # Tear the newest segment's tail.
    intact = files[-1].stat().st_size
    with files[-1].open("ab") as f:
        f.write(b"\x00\x00\x01\x00garbage")
    recovered = WriteAheadLog(tmp_path).recover()
    assert [e.base_offset for e in recovered] == [0, 10, 20, 70]
    assert files[-1].stat().st_size == intact  # the torn tail was cut off the file
    wal2 = WriteAheadLog(tmp_path)
    await wal2.start()
    await wal2.release_before(segment)
    await wal2.close()
    assert [e.base_offset for e in WriteAheadLog(tmp_path).recover()] == [70]
