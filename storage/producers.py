"""Idempotent-producer state of one partition: producer epochs and recent sequence ranges.

The leader keeps, per producer, the last few batches it appended (as Kafka
does, five), so that a retried batch is recognised and answered with its
original offset instead of being written twice.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import InvalidProducerEpoch, OutOfOrderSequence
from .recordbatch import BatchHeader

if TYPE_CHECKING:
    from coordinator.catalogue import ProducerState

RECENT_BATCHES = 5


@dataclass(slots=True)
class AppendedBatch:
    first_sequence: int
    last_sequence: int
    base_offset: int
    last_offset: int
    durable: asyncio.Future[None] | None = None


@dataclass(slots=True)
class ProducerEntry:
    epoch: int
    batches: deque[AppendedBatch] = field(default_factory=lambda: deque(maxlen=RECENT_BATCHES))

    @property
    def last_sequence(self) -> int:
        return self.batches[-1].last_sequence if self.batches else -1


class ProducerStateTable:
    __slots__ = ("producers",)

    def __init__(self) -> None:
        self.producers: dict[int, ProducerEntry] = {}

    def restore(self, producer_id: int, epoch: int, batches: list[AppendedBatch]) -> None:
        """A producer's last batches (oldest first), as the catalogue kept them."""
        entry = ProducerEntry(epoch=epoch)
        entry.batches.extend(batches)
        self.producers[producer_id] = entry

    def earlier(
        self, producer_id: int, epoch: int, before_offset: int
    ) -> tuple[tuple[int, int, int, int], ...]:
        """The (up to four) batches of this producer and epoch below `before_offset`, as the
        catalogue keeps them beside its last one: (first_sequence, last_sequence,
        base_offset, last_offset). Asked once per producer and flush, not per append."""
        entry = self.producers.get(producer_id)
        if entry is None or entry.epoch != epoch:
            return ()
        kept = [b for b in entry.batches if b.last_offset < before_offset][-(RECENT_BATCHES - 1):]
        return tuple((b.first_sequence, b.last_sequence, b.base_offset, b.last_offset) for b in kept)

    def check(self, header: BatchHeader) -> AppendedBatch | None:
        """Validate a batch's sequence; returns the earlier batch if this one is a retry of it."""
        entry = self.producers.get(header.producer_id)
        if entry is None:
            return None  # a producer new to this partition may start at any sequence
        if header.producer_epoch < entry.epoch:
            raise InvalidProducerEpoch(
                f"producer {header.producer_id} epoch {header.producer_epoch} is older than the"
                f" current epoch {entry.epoch}"
            )
        if header.producer_epoch > entry.epoch:
            if header.base_sequence != 0:
                raise OutOfOrderSequence(
                    f"producer {header.producer_id} started epoch {header.producer_epoch} at"
                    f" sequence {header.base_sequence}, expected 0"
                )
            return None
        for batch in entry.batches:
            if (
                batch.first_sequence == header.base_sequence
                and batch.last_sequence == header.last_sequence
            ):
                return batch
        expected = (entry.last_sequence + 1) & 0x7FFFFFFF
        if header.base_sequence != expected:
            raise OutOfOrderSequence(
                f"producer {header.producer_id} sent sequence {header.base_sequence}, expected"
                f" {expected}"
            )
        return None

    def record(
        self, header: BatchHeader, base_offset: int, durable: asyncio.Future[None] | None
    ) -> AppendedBatch:
        entry = self.producers.get(header.producer_id)
        if entry is None or header.producer_epoch > entry.epoch:
            entry = ProducerEntry(epoch=header.producer_epoch)
            self.producers[header.producer_id] = entry
        batch = AppendedBatch(
            first_sequence=header.base_sequence,
            last_sequence=header.last_sequence,
            base_offset=base_offset,
            last_offset=base_offset + header.last_offset_delta,
            durable=durable,
        )
        entry.batches.append(batch)
        return batch


def stored_chain(ps: ProducerState) -> list[tuple[int, int, int, int]]:
    """A producer's batches as the catalogue stored them, oldest first, ending with its last
    one: only the earlier ones that lead up to it in sequence and offset (a row an older
    agent updated keeps an `earlier` list of a previous epoch, not to be taken for this one)."""
    chain = [(ps.first_sequence, ps.last_sequence, ps.base_offset, ps.last_offset)]
    for batch in reversed(ps.earlier):
        _first, last_seq, _base, last_offset = batch
        if last_seq != (chain[0][0] - 1) & 0x7FFFFFFF or last_offset >= chain[0][2]:
            break
        chain.insert(0, batch)
    return chain
