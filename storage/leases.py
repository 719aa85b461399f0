"""Partition leases of this agent: renewal, fair share, handoff (DESIGN.md §7).

Every tick the keeper renews this agent's leases (and its heartbeat), drops the
partitions another agent took over (fenced), takes free or expired partitions up
to its fair share of all partitions over the live agents, and hands back its
surplus — after flushing it — when another agent has fewer than its share.

What a tick costs does not grow with the partitions while nothing changes: renewal is one
UPDATE, and the keeper reads a summary (lease counts per holder, one grouped query)
rather than every partition's lease. It reads them all only when the summary or the live
agents changed, when it has partitions to take or to give back, and at least every
`full_every` seconds — at most a twentieth of its time, however long that read takes
(bench/scale.py measures an idle agent with 100,000 partitions).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog

from . import metrics

if TYPE_CHECKING:
    from .log import LogManager

log = structlog.get_logger("streamhouse.leases")

FULL_READ_AT_LEAST_EVERY_S = 30.0
PROBE_S = 0.1


def fair_share(partitions: int, agent_ids: Sequence[str], agent_id: str) -> int:
    """This agent's share: partitions spread as evenly as the count allows, by agent id order."""
    ids = sorted(set(agent_ids) | {agent_id})
    base, extra = divmod(partitions, len(ids))
    return base + (1 if ids.index(agent_id) < extra else 0)


class LeaseKeeper:
    def __init__(self, logs: LogManager, *, tick_seconds: float | None = None) -> None:
        self.logs = logs
        self.ttl_ms = logs.options.lease_ttl_ms
        # A full step (read every partition's lease) every `tick`. With other agents there
        # is also a quick probe every `probe` seconds, one cheap query for a free lease, so
        # that a partition handed back is taken within a tenth of a second.
        self.fixed_tick = tick_seconds
        self.tick = tick_seconds if tick_seconds is not None else min(self.ttl_ms / 12000, 0.25)
        self.probe = PROBE_S
        # The tick as paced: a summary (or probe) that takes long with many partitions
        # waits twenty times as long before the next, so the keeper holds at most a
        # twentieth of the agent, and the renewals still come every ttl/3.
        self.pace = self.tick
        self._summary_s = self._probe_s = 0.0  # how long they take, smoothed
        self._last_renew = 0.0
        self._last_renewed_ok = time.monotonic()
        self._last_full = 0.0
        self._full_every = self.tick
        self._last_summary: object = None
        self.full_reads = 0
        # Partitions led: the catalogue's count as of the last tick, or the views leading
        # here if more (a topic created since is led at once). Read when scraped.
        self.held = 0
        metrics.PARTITIONS_LED.set_function(
            lambda: max(self.held, sum(1 for p in logs.open_logs() if p.is_leader)))

    def _paced(self, every: float, took: float) -> float:
        return min(max(every, 20 * took), self.ttl_ms / 6000)

    @property
    def live_window_ms(self) -> int:
        # Heartbeats come every ttl/3: an agent silent for a whole TTL is gone.
        return self.ttl_ms

    async def run(self) -> None:
        last_step = 0.0
        while True:
            probing = self.fixed_tick is None and not self.logs.solo and self.probe < self.pace
            await asyncio.sleep(self.probe if probing else self.pace)
            try:
                # A catalogue that does not answer at all (a cut network) must not hold the
                # keeper past the point where it has to give the leases up.
                async with asyncio.timeout(self.ttl_ms / 2000):
                    if probing and time.monotonic() - last_step < self.pace:
                        asked = time.monotonic()
                        free = await self.logs.catalogue.any_free_lease()
                        self._probe_s = 0.8 * self._probe_s + 0.2 * (time.monotonic() - asked)
                        self.probe = self._paced(PROBE_S, self._probe_s)
                        if not free:
                            continue
                    last_step = time.monotonic()
                    await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the catalogue may be down: try again next tick
                log.warning("lease_tick_failed", error=str(exc) or type(exc).__name__)
                self.fence_if_expired()

    def fence_if_expired(self) -> None:
        """Cut off from the catalogue for most of a TTL: the leases may have run out and
        another agent may take the partitions at any moment. Stop leading them now, before
        that can happen, so this agent acknowledges nothing more as their leader (what it
        buffered is refused or handed over when its flush meets the fence)."""
        silent = time.monotonic() - self._last_renewed_ok
        if silent * 1000 < self.ttl_ms * 0.8:
            return
        led = [p for p in self.logs.open_logs() if p.is_leader]
        if led:
            log.error("leases_expired_locally", partitions=len(led), silent_s=round(silent, 2))
        for plog in led:
            self.logs.drop(plog, reason="lease_expired")

    async def step(self) -> None:
        cat = self.logs.catalogue
        me = self.logs.agent_id
        now = time.monotonic()
        if now - self._last_renew >= self.ttl_ms / 3000:
            renewing_at = time.monotonic()
            await cat.renew_leases(me, self.ttl_ms)
            await cat.heartbeat(
                me,
                bytes_written=int(metrics.counter_total(metrics.PRODUCE_BYTES)),
                records_written=int(metrics.counter_total(metrics.PRODUCE_RECORDS)),
            )
            self._last_renew = now
            self._last_renewed_ok = renewing_at
        asked = time.monotonic()
        summary = await cat.lease_summary()
        if self.fixed_tick is None:
            # Smoothed: one slow answer (the agent starting, a pause) is not a slow catalogue.
            self._summary_s = 0.8 * self._summary_s + 0.2 * (time.monotonic() - asked)
            self.pace = self._paced(self.tick, self._summary_s)
        agents = [a.id for a in await cat.live_agents(self.live_window_ms)]
        self.logs.solo = all(a == me for a in agents)
        total = sum(live + expired for live, expired in summary.values())
        held = summary.get(me, (0, 0))[0]
        free = sum(expired for _live, expired in summary.values()) + summary.get(None, (0, 0))[0]
        target = fair_share(total, agents, me)
        shape = (sorted(summary.items(), key=lambda kv: kv[0] or ""), sorted(agents))
        if (shape == self._last_summary and now - self._last_full < self._full_every
                and not (free and held < target)):
            self.held = held
            self.logs.confirm_leases(asked)  # Metadata's index stays right without a read
            return
        self._last_summary = shape
        await self._full_step(me, agents)
        took = time.monotonic() - now
        self._last_full = now
        # A lease taken from this agent moves the summary (and the next commit is fenced by
        # its epoch whatever the keeper knows): the periodic read only catches up on what
        # left the counts as they were, so it may wait.
        self._full_every = min(max(self.tick, 20 * took), FULL_READ_AT_LEAST_EVERY_S)

    async def _full_step(self, me: str, agents: Sequence[str]) -> None:
        """Every partition's lease read: fences, takes and hand-backs decided on it."""
        cat = self.logs.catalogue
        self.full_reads += 1
        read_at = time.monotonic()
        parts = await cat.partition_leases()
        self.logs.publish_leases(read_at, parts)  # Metadata answers from it meanwhile
        wall = int(time.time() * 1000)
        held = {(p.topic_id, p.partition): p for p in parts if p.leader_agent == me}
        for plog in list(self.logs.open_logs()):
            state = held.get(plog.key)
            if plog.is_leader:
                # Led here, but the catalogue gives it to another (or a later epoch): fenced.
                if state is None or state.leader_epoch != plog.leader_epoch:
                    log.warning("lease_lost", topic=plog.topic_name, partition=plog.partition)
                    self.logs.drop(plog, reason="lease_lost")
            elif state is not None and state.lease_expires_at > wall and not self.logs.stopping:
                # A follower view opened while this agent was taking the lease (in bulk,
                # before the catalogue said so): lead it, or it never would be.
                await self.logs.take(plog.topic_id, plog.partition)
        target = fair_share(len(parts), agents, me)
        mine = [p for p in parts if p.leader_agent == me and p.lease_expires_at > wall]
        free = [p for p in parts if p.leader_agent is None or p.lease_expires_at <= wall]
        if len(mine) < target and free:
            await self.logs.take_free([(s.topic_id, s.partition) for s in free[: target - len(mine)]])
        elif len(mine) > target:
            others = {a: 0 for a in agents if a != me}
            for p in parts:
                if p.leader_agent in others and p.lease_expires_at > wall:
                    others[p.leader_agent] += 1
            below = any(n < fair_share(len(parts), agents, a) for a, n in others.items())
            if below:
                surplus = sorted(mine, key=lambda p: (p.topic_id, p.partition))[target:]
                for state in surplus:
                    await self.logs.hand_off(state.topic_id, state.partition, reason="rebalance")
        # Leases held as the catalogue had them at this step (takes show at the next): a
        # partition taken in bulk is led before its first request opens it.
        self.held = len(mine)
