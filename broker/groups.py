"""Consumer groups: placement (the coordinator lease), membership (Join, Sync, Heartbeat,
Leave), committed offsets, and administration (list, describe, delete, reset, seek, lag)
from any agent: the group's coordinator stays the one that decides.

The state machine is `coordinator.groups.GroupCoordinator`; this module places requests on
it and holds the rules every door shares (an offset reset needs an empty group).
"""

from __future__ import annotations

import time
import zlib
from collections import deque
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from kio.schema.errors import ErrorCode

from coordinator.catalogue import Agent, AgentId
from coordinator.consumer_protocol import assignment_partitions, subscription_topics
from coordinator.groups import (
    DEAD,
    EMPTY,
    GroupCoordinator,
    GroupDescription,
    JoinResult,
    MemberDescription,
    SyncResult,
)
from coordinator.lag import PartitionLag, group_lag
from coordinator.offsets import CommittedOffset, OrgOffsets

from . import errors
from .acls import Operation as Op
from .acls import ResourceType
from .context import RequestContext

if TYPE_CHECKING:
    from .service import Broker

_COORDINATOR_CACHE_S = 1.0
T = TypeVar("T")

ResetStrategy = Literal["earliest", "latest", "specific", "timestamp"]

__all__ = ["DEAD", "EMPTY", "CommittedOffset", "GroupDescription", "Groups", "MemberDescription",
           "PartitionLag", "assignment_partitions", "code"]


def code(name: str) -> ErrorCode:
    """The Kafka error code of a verdict of the group state machine ("none", "unknown_member_id")."""
    return ErrorCode[name]


@dataclass(frozen=True, slots=True, kw_only=True)
class OffsetToCommit:
    topic: str
    partition: int
    offset: int
    leader_epoch: int = -1
    metadata: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupSummary:
    description: GroupDescription
    lag: list[PartitionLag]


class Groups:
    def __init__(self, broker: Broker) -> None:
        self._b = broker
        # group id -> (when looked up, its coordinator)
        self._coordinators: dict[tuple[str, str], tuple[float, Agent]] = {}
        # One group state machine per organization: group ids are scoped by organization.
        self._machines: dict[str, GroupCoordinator] = {}
        self._started = False
        # (org, group) -> (ms, total lag) every sample of the last hour, so a chart of a
        # group's lag survives a page reload (the console). Groups gone are dropped.
        self._lag_history: dict[tuple[str, str], deque[tuple[int, int]]] = {}

    LAG_POINTS = 360  # an hour of the agent's 10 s samples

    def record_lag(self, totals: dict[tuple[str, str], int], at_ms: int) -> None:
        """One sample of every group's total lag (broker.runtime's lag export)."""
        for key in [k for k in self._lag_history if k not in totals]:
            del self._lag_history[key]
        for key, lag in totals.items():
            points = self._lag_history.get(key)
            if points is None:
                points = self._lag_history[key] = deque(maxlen=self.LAG_POINTS)
            points.append((at_ms, lag))

    def lag_history(self, ctx: RequestContext, group_id: str) -> list[tuple[int, int]]:
        self._b.auth.require_group(ctx, Op.DESCRIBE, group_id)
        return list(self._lag_history.get((ctx.org_id, group_id), ()))

    def _machine(self, ctx: RequestContext) -> GroupCoordinator:
        machine = self._machines.get(ctx.org_id)
        if machine is None:
            machine = self._machines[ctx.org_id] = GroupCoordinator(
                self._offsets(ctx),
                initial_rebalance_delay_ms=self._b.options.group_initial_rebalance_delay_ms,
                agent_id=self._b.agent.id,
            )
            if self._started:
                machine.start()
        return machine

    def _offsets(self, ctx: RequestContext) -> OrgOffsets:
        return OrgOffsets(self._b.catalogue.offsets, ctx.org_id)

    def start(self) -> None:
        self._started = True
        for machine in self._machines.values():
            machine.start()

    async def stop(self) -> None:
        for machine in self._machines.values():
            await machine.stop()

    # -- placement ----------------------------------------------------------------------

    async def coordinator_for(self, ctx: RequestContext, group_id: str) -> Agent:
        """The one live agent that coordinates a group: the holder of its coordinator lease.

        A group without a live lease is claimed for one of the live agents (a hash of its
        id), in one catalogue transaction, so every agent names the same coordinator. The
        holder renews the lease with its partition leases; when it stops or dies the lease
        ends and the group moves: members get NOT_COORDINATOR, find the new coordinator and
        rejoin (committed offsets are in the catalogue). Answers are cached for a second.
        """
        cache = self._coordinators
        now = time.monotonic()
        key = (ctx.org_id, group_id)
        hit = cache.get(key)
        if hit is not None and now - hit[0] < _COORDINATOR_CACHE_S:
            return hit[1]
        try:
            agent = await self._lookup(ctx, group_id)
        except errors.BrokerError:
            raise
        except Exception as exc:
            raise errors.CoordinatorUnavailable(
                f"the coordinator of group {group_id!r} cannot be found now: {exc}") from exc
        if agent.id != self._b.agent.id:
            self._machine(ctx).forget(group_id)
        if len(cache) > 10_000:  # forget old lookups of groups nobody asks about any more
            for gid in [g for g, (at, _a) in cache.items() if now - at >= _COORDINATOR_CACHE_S]:
                del cache[gid]
        cache[key] = (now, agent)
        return agent

    def authorized_operations(self, ctx: RequestContext, group_id: str) -> int:
        return self._b.acls.authorized_operations(ctx, ResourceType.GROUP, group_id)

    async def find_coordinator(self, ctx: RequestContext, group_id: str) -> Agent:
        """FindCoordinator: the caller must be allowed to DESCRIBE the group."""
        self._b.auth.require_group(ctx, Op.DESCRIBE, group_id)
        return await self.coordinator_for(ctx, group_id)

    async def _lookup(self, ctx: RequestContext, group_id: str) -> Agent:
        cluster = self._b.cluster
        live = await cluster.live_agents()
        by_id = {a.id: a for a in live}
        offsets = self._offsets(ctx)
        lease = await offsets.coordinator(group_id)
        wall = int(time.time() * 1000)
        if lease is None or lease.expires_at <= wall or lease.agent_id not in by_id:
            live = await cluster.live_agents(fresh=True)  # never hand a group to a departed agent
            by_id = {a.id: a for a in live}
            candidate = live[zlib.crc32(group_id.encode()) % len(live)]
            lease = await offsets.claim(group_id, candidate.id, self._b.logs.options.lease_ttl_ms)
        agent = by_id.get(AgentId(lease.agent_id))
        if agent is None:  # a holder this agent's (cached) view does not list yet
            agent = next((a for a in await self._b.catalogue.list_agents()
                          if a.id == lease.agent_id), live[0])
        return agent

    async def is_coordinator(self, ctx: RequestContext, group_id: str) -> bool:
        return (await self.coordinator_for(ctx, group_id)).id == self._b.agent.id

    async def require_coordinator(self, ctx: RequestContext, group_id: str) -> None:
        """Group requests are answered by the group's coordinator only, as in Kafka."""
        if not await self.is_coordinator(ctx, group_id):
            raise errors.NotCoordinator(f"this agent does not coordinate group {group_id!r}")

    # -- membership ---------------------------------------------------------------------

    async def join(
        self,
        ctx: RequestContext,
        group_id: str,
        member_id: str,
        *,
        group_instance_id: str | None,
        protocol_type: str,
        protocols: list[tuple[str, bytes]],
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        require_known_member_id: bool,
    ) -> JoinResult:
        self._b.auth.require_group(ctx, Op.READ, group_id)
        await self.require_coordinator(ctx, group_id)
        result: JoinResult = await self._machine(ctx).join(
            group_id, member_id, group_instance_id=group_instance_id,
            protocol_type=protocol_type, protocols=protocols,
            session_timeout_ms=session_timeout_ms, rebalance_timeout_ms=rebalance_timeout_ms,
            client_id=ctx.client_id, client_host=_host(ctx.peer),
            require_known_member_id=require_known_member_id,
        )
        return result

    async def sync(
        self, ctx: RequestContext, group_id: str, generation_id: int, member_id: str,
        group_instance_id: str | None, assignments: dict[str, bytes],
    ) -> SyncResult:
        self._b.auth.require_group(ctx, Op.READ, group_id)
        await self.require_coordinator(ctx, group_id)
        result: SyncResult = await self._machine(ctx).sync(
            group_id, generation_id, member_id, group_instance_id, assignments)
        return result

    async def heartbeat(
        self, ctx: RequestContext, group_id: str, generation_id: int, member_id: str,
        group_instance_id: str | None,
    ) -> str:
        self._b.auth.require_group(ctx, Op.READ, group_id)
        await self.require_coordinator(ctx, group_id)
        return str(self._machine(ctx).heartbeat(group_id, generation_id, member_id, group_instance_id))

    async def leave(
        self, ctx: RequestContext, group_id: str, leaving: list[tuple[str, str | None]]
    ) -> tuple[str, list[str]]:
        self._b.auth.require_group(ctx, Op.READ, group_id)
        await self.require_coordinator(ctx, group_id)
        error, per_member = self._machine(ctx).leave(group_id, leaving)
        return str(error), list(per_member)

    # -- offsets ------------------------------------------------------------------------

    async def commit(
        self,
        ctx: RequestContext,
        group_id: str,
        offsets: Sequence[OffsetToCommit],
        *,
        generation_id: int = -1,
        member_id: str = "",
        group_instance_id: str | None = None,
    ) -> dict[tuple[str, int], ErrorCode]:
        """Commit offsets (a member's, or an admin's with generation -1 and no member: only
        an empty group takes those). Each partition's error code."""
        self._b.auth.require_group(ctx, Op.READ, group_id)
        await self.require_coordinator(ctx, group_id)
        now = int(time.time() * 1000)
        verdicts: dict[tuple[str, int], ErrorCode] = {}
        accepted = []
        for o in offsets:
            try:
                topic = await self._b.topics.get(ctx, o.topic, op=Op.READ)
            except errors.NotAuthorized as exc:
                verdicts[(o.topic, o.partition)] = exc.kafka_code
                continue
            ok = topic is not None and 0 <= o.partition < topic.partition_count
            verdicts[(o.topic, o.partition)] = (
                ErrorCode.none if ok else ErrorCode.unknown_topic_or_partition)
            if ok:
                accepted.append(CommittedOffset(
                    group_id=group_id, topic=o.topic, partition=o.partition, offset=o.offset,
                    leader_epoch=o.leader_epoch, metadata=o.metadata, commit_time=now))
        try:
            error = await self._machine(ctx).commit_offsets(
                group_id, generation_id, member_id, group_instance_id, accepted)
        except Exception as exc:
            raise errors.translate(exc) from exc
        if error != "none":
            return dict.fromkeys(verdicts, code(error))
        return verdicts

    async def committed(
        self, ctx: RequestContext, group_id: str, topics: Sequence[tuple[str, Sequence[int]]] | None
    ) -> list[tuple[str, list[tuple[int, CommittedOffset | None]]]]:
        """The group's committed offsets: of the partitions asked, or all (topics None; the
        topics the caller may not describe are left out)."""
        self._b.auth.require_group(ctx, Op.DESCRIBE, group_id)
        await self.require_coordinator(ctx, group_id)
        try:
            rows = await self._offsets(ctx).fetch(group_id)
        except Exception as exc:
            raise errors.translate(exc) from exc
        committed = {(o.topic, o.partition): o for o in rows}
        if topics is None:
            by_topic: dict[str, list[int]] = {}
            for c in committed.values():
                by_topic.setdefault(c.topic, []).append(c.partition)
            auth = self._b.auth
            topics = [(t, ps) for t, ps in by_topic.items()
                      if auth.permits(ctx, Op.DESCRIBE, ResourceType.TOPIC, t)]
        return [(name, [(p, committed.get((name, p))) for p in partitions])
                for name, partitions in topics]

    # -- administration (of the groups this agent coordinates) ----------------------------

    async def list_groups(self, ctx: RequestContext, states: set[str] | None = None) -> list[tuple[str, str, str]]:
        """(group id, protocol type, state) of the groups this agent coordinates (admin
        clients ask every broker and merge)."""
        auth = self._b.auth
        return [g for g in await self._machine(ctx).list_groups(states or None)
                if auth.permits(ctx, Op.DESCRIBE, ResourceType.GROUP, g[0])
                and await self.is_coordinator(ctx, g[0])]

    async def describe(self, ctx: RequestContext, group_id: str) -> GroupDescription | None:
        self._b.auth.require_group(ctx, Op.DESCRIBE, group_id)
        await self.require_coordinator(ctx, group_id)
        desc: GroupDescription | None = await self._machine(ctx).describe(group_id)
        return desc

    async def delete(self, ctx: RequestContext, group_id: str) -> None:
        self._b.auth.require_group(ctx, Op.DELETE, group_id)
        await self.require_coordinator(ctx, group_id)
        verdict = await self._machine(ctx).delete_group(group_id)
        if verdict == "non_empty_group":
            raise errors.GroupNotEmpty(f"consumer group {group_id!r} has members")
        if verdict == "group_id_not_found":
            raise errors.GroupIdNotFound(f"consumer group {group_id!r} does not exist")

    async def delete_offsets(
        self, ctx: RequestContext, group_id: str, topics: Sequence[tuple[str, Sequence[int]]]
    ) -> dict[str, ErrorCode]:
        """OffsetDelete: per topic, none or GROUP_SUBSCRIBED_TO_TOPIC (a topic the group's
        members subscribe to keeps its offsets)."""
        self._b.auth.require_group(ctx, Op.DELETE, group_id)
        await self.require_coordinator(ctx, group_id)
        state = self._machine(ctx)
        if (not await self._offsets(ctx).group_exists(group_id)
                and state.state_of(group_id) == EMPTY):
            raise errors.GroupIdNotFound(f"consumer group {group_id!r} does not exist")
        group = state.groups.get(group_id)
        protocol = group.protocol_name if group is not None else None
        subscribed: set[str] = set()
        for m in state.subscribed_members(group_id):
            subscribed |= subscription_topics(m.metadata_for(protocol))
        out = {}
        for name, partitions in topics:
            if name in subscribed:
                out[name] = ErrorCode.group_subscribed_to_topic
                continue
            await self._offsets(ctx).delete_offsets(group_id, name, list(partitions))
            out[name] = ErrorCode.none
        return out

    # -- administration from any agent (REST, console, CLI) -------------------------------

    async def _remote(self, ctx: RequestContext, group_id: str) -> Agent | None:
        agent = await self.coordinator_for(ctx, group_id)
        return None if agent.id == self._b.agent.id else agent

    async def admin_describe(self, ctx: RequestContext, group_id: str) -> GroupDescription | None:
        """The group as its coordinator sees it, wherever that runs; None if it does not exist."""
        self._b.auth.require_group(ctx, Op.DESCRIBE, group_id)
        remote = await self._remote(ctx, group_id)
        if remote is None:
            return await self.describe(ctx, group_id)
        return await self._ask(remote, self._b.peers.describe_group(remote, ctx.org_id, group_id))

    async def admin_describe_all(self, ctx: RequestContext) -> list[GroupDescription]:
        out = []
        for group_id, _ptype, _state in await self._machine(ctx).list_groups():
            if not self._b.auth.permits(ctx, Op.DESCRIBE, ResourceType.GROUP, group_id):
                continue
            desc = await self.admin_describe(ctx, group_id)
            if desc is not None:
                out.append(desc)
        return out

    async def admin_delete(self, ctx: RequestContext, group_id: str) -> None:
        self._b.auth.require_group(ctx, Op.DELETE, group_id)
        remote = await self._remote(ctx, group_id)
        if remote is None:
            await self.delete(ctx, group_id)
            return
        await self._ask(remote, self._b.peers.delete_group(remote, ctx.org_id, group_id))

    async def lag(
        self, ctx: RequestContext, group_id: str, desc: GroupDescription | None = None
    ) -> list[PartitionLag]:
        """Lag of every partition the group committed to or its members are assigned."""
        assigned: set[str] = set()
        if desc is not None and desc.protocol_type == "consumer":
            assigned = {t for m in desc.members for t in assignment_partitions(m.assignment)}
        try:
            return await group_lag(self._b.catalogue, group_id, assigned, ctx.org_id)
        except Exception as exc:
            raise errors.translate(exc) from exc

    async def summaries(self, ctx: RequestContext) -> list[GroupSummary]:
        return [GroupSummary(description=d, lag=await self.lag(ctx, d.group_id, d))
                for d in await self.admin_describe_all(ctx)]

    async def reset_offsets(
        self,
        ctx: RequestContext,
        group_id: str,
        strategy: ResetStrategy,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        timestamp: int | None = None,
        dry_run: bool = False,
    ) -> list[PartitionLag]:
        """Move a group's committed offsets (earliest, latest, a specific offset clamped to the
        log, or the first at a time); the group must have no active members. A dry run
        commits nothing and answers the offsets the reset would commit, with their lag."""
        # Kafka's AlterConsumerGroupOffsets needs READ on the group; moving offsets is an
        # admin key's (a read-only or read-write key only commits its own consumption).
        self._b.auth.require_group(ctx, Op.READ, group_id, admin=True)
        desc = await self.admin_describe(ctx, group_id)
        state = desc.state if desc is not None else EMPTY
        if state not in (EMPTY, DEAD):
            raise errors.GroupNotEmpty(
                f"consumer group {group_id!r} is {state}: stop its consumers first")
        if strategy == "specific" and offset is None:
            raise errors.InvalidRequest("strategy specific needs an offset")
        if strategy == "timestamp" and timestamp is None:
            raise errors.InvalidRequest("strategy timestamp needs a timestamp")
        if topic is not None:
            names = [topic]
        else:
            names = sorted({c.topic for c in await self._offsets(ctx).fetch(group_id)})
            if not names:
                raise errors.InvalidRequest(f"group {group_id!r} has no offsets yet: name a topic")
        fetch = self._b.fetch
        targets = []
        preview: list[PartitionLag] = []
        for name in names:
            t = await self._b.topics.require(ctx, name, op=Op.READ)
            parts = [partition] if partition is not None else list(range(t.partition_count))
            for p in parts:
                if not 0 <= p < t.partition_count:
                    raise errors.UnknownPartition(f"{name} has no partition {p}")
                if strategy == "earliest":
                    target = (await fetch.list_offset(ctx, t, p, -2)).offset
                elif strategy == "latest":
                    target = (await fetch.list_offset(ctx, t, p, -1)).offset
                elif strategy == "specific":
                    assert offset is not None
                    low = (await fetch.list_offset(ctx, t, p, -2)).offset
                    high = (await fetch.list_offset(ctx, t, p, -1)).offset
                    target = min(max(offset, low), high)
                else:
                    assert timestamp is not None
                    target = await fetch.offset_at_or_end(ctx, t, p, timestamp)
                targets.append(OffsetToCommit(topic=name, partition=p, offset=target))
                if dry_run:
                    low = (await fetch.list_offset(ctx, t, p, -2)).offset
                    high = (await fetch.list_offset(ctx, t, p, -1)).offset
                    preview.append(PartitionLag(
                        group_id=group_id, topic=name, partition=p, committed_offset=target,
                        high_watermark=high, log_start_offset=low,
                        lag=max(0, high - max(target, low))))
        if dry_run:
            return preview
        await self.admin_commit(ctx, group_id, targets)
        return await self.lag(ctx, group_id)

    async def admin_commit(
        self, ctx: RequestContext, group_id: str, offsets: list[OffsetToCommit]
    ) -> None:
        remote = await self._remote(ctx, group_id)
        if remote is None:
            verdicts = await self.commit(ctx, group_id, offsets)
            refused = next((c for c in verdicts.values() if c != ErrorCode.none), None)
            if refused is not None:
                raise errors.GroupNotEmpty(
                    f"the offsets of {group_id!r} cannot change now: {refused.name}")
            return
        now = int(time.time() * 1000)
        rows = [CommittedOffset(group_id=group_id, topic=o.topic, partition=o.partition,
                                offset=o.offset, leader_epoch=o.leader_epoch,
                                metadata=o.metadata, commit_time=now) for o in offsets]
        await self._ask(remote, self._b.peers.commit_offsets(remote, ctx.org_id, group_id, rows))

    @staticmethod
    async def _ask(remote: Agent, call: Awaitable[T]) -> T:
        try:
            return await call
        except errors.BrokerError:
            raise
        except (OSError, TimeoutError, EOFError) as exc:
            raise errors.CoordinatorUnavailable(
                f"the coordinator of this group (agent {remote.id} at {remote.host}:{remote.port})"
                f" did not answer: {exc}") from exc


def _host(peer: str) -> str:
    return "/" + peer.rsplit(":", 1)[0]
