"""The classic consumer-group protocol: membership, rebalances, generations (DESIGN.md §10).

States: Empty → PreparingRebalance → CompletingRebalance → Stable, and Dead once
deleted. Membership lives here, in memory; committed offsets are durable in the
catalogue (`offsets.py`). Protocol metadata and assignments are opaque bytes,
passed through untouched, so every client-side assignor works. Errors are the
names of Kafka's error codes (as kio spells them); `protocol/` maps them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from .offsets import CommittedOffset, NotCoordinator, OrgOffsets

log = structlog.get_logger("streamhouse.groups")

EMPTY, PREPARING, COMPLETING, STABLE, DEAD = (
    "Empty",
    "PreparingRebalance",
    "CompletingRebalance",
    "Stable",
    "Dead",
)


@dataclass(slots=True)
class JoinResult:
    error: str
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader: str = ""
    member_id: str = ""
    members: list[tuple[str, str | None, bytes]] = field(default_factory=list)
    skip_assignment: bool = False


@dataclass(slots=True)
class SyncResult:
    error: str
    assignment: bytes = b""
    protocol_type: str | None = None
    protocol_name: str | None = None


@dataclass(slots=True)
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    join_waiter: asyncio.Future[JoinResult] | None = None
    sync_waiter: asyncio.Future[SyncResult] | None = None
    last_heartbeat: float = 0.0

    def metadata_for(self, protocol: str | None) -> bytes:
        for name, meta in self.protocols:
            if name == protocol:
                return meta
        return b""


@dataclass(slots=True)
class Group:
    group_id: str
    state: str = EMPTY
    generation_id: int = 0
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    static: dict[str, str] = field(default_factory=dict)  # instance id -> member id
    pending: set[str] = field(default_factory=set)  # ids handed out with MEMBER_ID_REQUIRED
    rebalance: asyncio.Task[None] | None = None
    joined: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberDescription:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    metadata: bytes
    assignment: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupDescription:
    group_id: str
    state: str
    protocol_type: str
    protocol_name: str
    members: list[MemberDescription]


class GroupCoordinator:
    def __init__(
        self,
        offsets: OrgOffsets,
        *,
        initial_rebalance_delay_ms: int = 200,
        clock: Callable[[], float] = time.monotonic,
        agent_id: str | None = None,
    ) -> None:
        self.offsets = offsets
        self.agent_id = agent_id  # commits are fenced on this agent's coordinator lease
        self.initial_delay = initial_rebalance_delay_ms / 1000
        self.clock = clock
        self.groups: dict[str, Group] = {}
        self._expiry: asyncio.Task[None] | None = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        self._expiry = asyncio.create_task(self._expire_sessions(), name="group-sessions")

    async def stop(self) -> None:
        tasks = [g.rebalance for g in self.groups.values() if g.rebalance is not None]
        if self._expiry is not None:
            tasks.append(self._expiry)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- JoinGroup --------------------------------------------------------------------

    async def join(
        self,
        group_id: str,
        member_id: str,
        *,
        group_instance_id: str | None,
        protocol_type: str,
        protocols: list[tuple[str, bytes]],
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        client_id: str,
        client_host: str,
        require_known_member_id: bool,
    ) -> JoinResult:
        if not group_id:
            return JoinResult(error="invalid_group_id")
        if not protocols:
            return JoinResult(error="inconsistent_group_protocol", member_id=member_id)
        group = self.groups.get(group_id)
        if group is None:
            group = self.groups[group_id] = Group(group_id=group_id)
            await self.offsets.ensure_group(group_id, protocol_type, int(time.time() * 1000))
        if group.members and not self._compatible(group, protocol_type, protocols):
            return JoinResult(error="inconsistent_group_protocol", member_id=member_id)
        if not group.members:
            group.protocol_type = protocol_type

        member = group.members.get(member_id) if member_id else None
        known_new_id = None
        if member_id and member is None:
            if member_id in group.pending:
                group.pending.discard(member_id)
                known_new_id = member_id
            elif group_instance_id and group.static.get(group_instance_id) not in (None, member_id):
                return JoinResult(error="fenced_instance_id", member_id=member_id)
            else:
                return JoinResult(error="unknown_member_id", member_id=member_id)

        if member is None and group_instance_id and group_instance_id in group.static:
            # A static member back within its session timeout: take over its identity.
            old = group.members.pop(group.static[group_instance_id], None)
            new_id = f"{group_instance_id}-{uuid.uuid4()}"
            member = self._new_member(
                new_id,
                group_instance_id,
                client_id,
                client_host,
                session_timeout_ms,
                rebalance_timeout_ms,
                protocols,
            )
            if old is not None:
                member.assignment = old.assignment
                if old.join_waiter and not old.join_waiter.done():
                    old.join_waiter.set_result(
                        JoinResult(error="fenced_instance_id", member_id=old.member_id)
                    )
                if old.sync_waiter and not old.sync_waiter.done():
                    old.sync_waiter.set_result(SyncResult(error="fenced_instance_id"))
                if group.leader_id == old.member_id:
                    group.leader_id = new_id
            group.members[new_id] = member
            group.static[group_instance_id] = new_id
            if group.state == STABLE and old is not None and old.protocols == protocols:
                log.info("static_member_rejoined", group=group_id, instance=group_instance_id)
                return self._join_result(group, member)
            return await self._join_and_wait(group, member)

        if member is None:
            new_id = known_new_id or f"{client_id or 'member'}-{uuid.uuid4()}"
            if require_known_member_id and not group_instance_id and known_new_id is None:
                group.pending.add(new_id)
                return JoinResult(error="member_id_required", member_id=new_id)
            member = self._new_member(
                new_id,
                group_instance_id,
                client_id,
                client_host,
                session_timeout_ms,
                rebalance_timeout_ms,
                protocols,
            )
            group.members[new_id] = member
            if group_instance_id:
                group.static[group_instance_id] = new_id
            return await self._join_and_wait(group, member)

        # A known member rejoining.
        unchanged = member.protocols == protocols
        member.protocols = protocols
        member.session_timeout_ms = session_timeout_ms
        member.rebalance_timeout_ms = rebalance_timeout_ms
        member.last_heartbeat = self.clock()
        if group.state == STABLE and unchanged and member.member_id != group.leader_id:
            return self._join_result(group, member)
        if group.state == COMPLETING and unchanged:
            return self._join_result(group, member)
        return await self._join_and_wait(group, member)

    def _new_member(
        self,
        member_id: str,
        instance_id: str | None,
        client_id: str,
        client_host: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        protocols: list[tuple[str, bytes]],
    ) -> Member:
        return Member(
            member_id=member_id,
            group_instance_id=instance_id,
            client_id=client_id,
            client_host=client_host,
            session_timeout_ms=session_timeout_ms,
            rebalance_timeout_ms=rebalance_timeout_ms,
            protocols=protocols,
            last_heartbeat=self.clock(),
        )

    def _compatible(
        self, group: Group, protocol_type: str, protocols: list[tuple[str, bytes]]
    ) -> bool:
        if group.protocol_type is not None and protocol_type != group.protocol_type:
            return False
        names = {n for n, _m in protocols}
        return all(names & {n for n, _m in m.protocols} for m in group.members.values())

    async def _join_and_wait(self, group: Group, member: Member) -> JoinResult:
        loop = asyncio.get_running_loop()
        if member.join_waiter is not None and not member.join_waiter.done():
            member.join_waiter.set_result(
                JoinResult(error="rebalance_in_progress", member_id=member.member_id)
            )
        member.join_waiter = loop.create_future()
        waiter = member.join_waiter
        self._prepare_rebalance(group, f"{member.member_id} joined")
        group.joined.set()
        return await waiter

    def _join_result(self, group: Group, member: Member) -> JoinResult:
        is_leader = member.member_id == group.leader_id
        return JoinResult(
            error="none",
            generation_id=group.generation_id,
            protocol_type=group.protocol_type,
            protocol_name=group.protocol_name,
            leader=group.leader_id or "",
            member_id=member.member_id,
            members=[
                (m.member_id, m.group_instance_id, m.metadata_for(group.protocol_name))
                for m in group.members.values()
            ]
            if is_leader
            else [],
        )

    # -- rebalances -------------------------------------------------------------------

    def _prepare_rebalance(self, group: Group, reason: str) -> None:
        if group.state == PREPARING:
            return
        initial = group.state == EMPTY
        log.info(
            "rebalance_started", group=group.group_id, reason=reason, generation=group.generation_id
        )
        group.state = PREPARING
        for m in group.members.values():
            if m.sync_waiter is not None and not m.sync_waiter.done():
                m.sync_waiter.set_result(SyncResult(error="rebalance_in_progress"))
        group.rebalance = asyncio.create_task(self._rebalance(group, initial))

    async def _rebalance(self, group: Group, initial: bool) -> None:
        timeout = max((m.rebalance_timeout_ms for m in group.members.values()), default=0) / 1000
        deadline = self.clock() + timeout
        if initial and self.initial_delay > 0:
            # Let members that start together join one generation, not one each.
            quiet_until = self.clock() + self.initial_delay
            while self.clock() < min(quiet_until, deadline):
                group.joined.clear()
                try:
                    await asyncio.wait_for(group.joined.wait(), quiet_until - self.clock())
                    quiet_until = min(self.clock() + self.initial_delay, deadline)
                except TimeoutError:
                    break
        while not self._all_joined(group) and self.clock() < deadline:
            group.joined.clear()
            try:
                await asyncio.wait_for(group.joined.wait(), max(deadline - self.clock(), 0.001))
            except TimeoutError:
                break
        self._complete_join(group)

    def _all_joined(self, group: Group) -> bool:
        return all(
            m.join_waiter is not None and not m.join_waiter.done() for m in group.members.values()
        )

    def _complete_join(self, group: Group) -> None:
        group.rebalance = None
        for m in list(group.members.values()):
            if m.join_waiter is None or m.join_waiter.done():
                log.info(
                    "member_removed",
                    group=group.group_id,
                    member=m.member_id,
                    reason="did not rejoin within the rebalance timeout",
                )
                self._drop(group, m)
        group.generation_id += 1
        if not group.members:
            group.state = EMPTY
            group.protocol_name = None
            group.leader_id = None
            return
        group.protocol_name = self._select_protocol(group)
        if group.leader_id not in group.members:
            group.leader_id = next(iter(group.members))
        group.state = COMPLETING
        now = self.clock()
        log.info(
            "rebalance_completed",
            group=group.group_id,
            generation=group.generation_id,
            members=len(group.members),
            protocol=group.protocol_name,
        )
        for m in group.members.values():
            m.last_heartbeat = now
            waiter, m.join_waiter = m.join_waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result(self._join_result(group, m))

    def _select_protocol(self, group: Group) -> str | None:
        members = list(group.members.values())
        common = set.intersection(*({n for n, _ in m.protocols} for m in members))
        votes: dict[str, int] = {}
        for m in members:
            for name, _meta in m.protocols:
                if name in common:
                    votes[name] = votes.get(name, 0) + 1
                    break
        if not votes:
            return None
        order = [n for n, _ in members[0].protocols]
        return max(votes, key=lambda n: (votes[n], -order.index(n) if n in order else 0))

    def _drop(self, group: Group, member: Member) -> None:
        group.members.pop(member.member_id, None)
        if (
            member.group_instance_id
            and group.static.get(member.group_instance_id) == member.member_id
        ):
            del group.static[member.group_instance_id]
        for waiter, result in (
            (member.join_waiter, JoinResult(error="unknown_member_id")),
            (member.sync_waiter, SyncResult(error="unknown_member_id")),
        ):
            if waiter is not None and not waiter.done():
                waiter.set_result(result)  # type: ignore[arg-type]

    def _member_left(self, group: Group, reason: str) -> None:
        if group.state == PREPARING:
            group.joined.set()  # maybe everyone left has now joined
        elif group.members:
            self._prepare_rebalance(group, reason)
        else:
            group.generation_id += 1
            group.state = EMPTY
            group.leader_id = None
            group.protocol_name = None

    async def _expire_sessions(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            now = self.clock()
            for group in list(self.groups.values()):
                for m in list(group.members.values()):
                    waiting = m.join_waiter is not None and not m.join_waiter.done()
                    if not waiting and now - m.last_heartbeat > m.session_timeout_ms / 1000:
                        log.info("member_expired", group=group.group_id, member=m.member_id)
                        self._drop(group, m)
                        self._member_left(group, f"{m.member_id} session expired")

    # -- SyncGroup, Heartbeat, LeaveGroup ---------------------------------------------

    def _find(
        self, group_id: str, member_id: str, instance_id: str | None
    ) -> tuple[Group | None, Member | None, str]:
        group = self.groups.get(group_id)
        if group is None:
            return None, None, "unknown_member_id"
        if instance_id and group.static.get(instance_id) not in (None, member_id):
            return group, None, "fenced_instance_id"
        member = group.members.get(member_id)
        if member is None:
            return group, None, "unknown_member_id"
        return group, member, "none"

    async def sync(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        group_instance_id: str | None,
        assignments: dict[str, bytes],
    ) -> SyncResult:
        group, member, error = self._find(group_id, member_id, group_instance_id)
        if group is None or member is None:
            return SyncResult(error=error)
        if generation_id != group.generation_id:
            return SyncResult(error="illegal_generation")
        if group.state == PREPARING:
            return SyncResult(error="rebalance_in_progress")
        if group.state == STABLE:
            return self._sync_result(group, member)
        waiter = asyncio.get_running_loop().create_future()
        member.sync_waiter = waiter
        if member.member_id == group.leader_id:
            for m in group.members.values():
                m.assignment = assignments.get(m.member_id, b"")
            group.state = STABLE
            for m in group.members.values():
                if m.sync_waiter is not None and not m.sync_waiter.done():
                    m.sync_waiter.set_result(self._sync_result(group, m))
                m.sync_waiter = None
        result: SyncResult = await waiter
        return result

    def _sync_result(self, group: Group, member: Member) -> SyncResult:
        return SyncResult(
            error="none",
            assignment=member.assignment,
            protocol_type=group.protocol_type,
            protocol_name=group.protocol_name,
        )

    def heartbeat(
        self, group_id: str, generation_id: int, member_id: str, group_instance_id: str | None
    ) -> str:
        group, member, error = self._find(group_id, member_id, group_instance_id)
        if group is None or member is None:
            return error
        member.last_heartbeat = self.clock()
        if group.state == PREPARING:
            return "rebalance_in_progress"
        if generation_id != group.generation_id:
            return "illegal_generation"
        return "none"

    def leave(self, group_id: str, leaving: list[tuple[str, str | None]]) -> tuple[str, list[str]]:
        group = self.groups.get(group_id)
        if group is None:
            return "unknown_member_id", ["unknown_member_id"] * len(leaving)
        errors = []
        for member_id, instance_id in leaving:
            if instance_id:
                real = group.static.get(instance_id)
                if real is None or (member_id and member_id != real):
                    errors.append("unknown_member_id" if real is None else "fenced_instance_id")
                    continue
                member_id = real
            member = group.members.get(member_id)
            if member is None:
                errors.append("unknown_member_id")
                continue
            log.info("member_left", group=group_id, member=member_id)
            self._drop(group, member)
            errors.append("none")
        if "none" in errors:
            self._member_left(group, "a member left")
        return "none", errors

    # -- offsets ------------------------------------------------------------------------

    async def commit_offsets(
        self,
        group_id: str,
        generation_id: int,
        member_id: str | None,
        group_instance_id: str | None,
        offsets: list[CommittedOffset],
    ) -> str:
        group = self.groups.get(group_id)
        if generation_id < 0 and not member_id:
            if group is not None and group.members:
                return "unknown_member_id"  # only an empty group takes commits from outside it
        else:
            grp, member, error = self._find(group_id, member_id or "", group_instance_id)
            if grp is None or member is None:
                return "illegal_generation" if grp is None and generation_id >= 0 else error
            if generation_id != grp.generation_id:
                return "illegal_generation"
            if grp.state == COMPLETING:
                return "rebalance_in_progress"
            member.last_heartbeat = self.clock()
        if offsets:
            try:
                await self.offsets.commit(group_id, offsets, coordinator=self.agent_id)
            except NotCoordinator:
                self.forget(group_id)
                return "not_coordinator"
        return "none"

    def forget(self, group_id: str) -> None:
        """Drop the in-memory state of a group another agent coordinates now; its members
        get NOT_COORDINATOR, find the new coordinator and rejoin there."""
        group = self.groups.pop(group_id, None)
        if group is None:
            return
        if group.rebalance is not None:
            group.rebalance.cancel()
        for member in group.members.values():
            if member.join_waiter is not None and not member.join_waiter.done():
                member.join_waiter.set_result(
                    JoinResult(error="not_coordinator", member_id=member.member_id)
                )
            if member.sync_waiter is not None and not member.sync_waiter.done():
                member.sync_waiter.set_result(SyncResult(error="not_coordinator"))

    # -- administration ---------------------------------------------------------------

    def state_of(self, group_id: str) -> str:
        group = self.groups.get(group_id)
        return group.state if group is not None else EMPTY

    async def list_groups(self, states: set[str] | None = None) -> list[tuple[str, str, str]]:
        known = dict(await self.offsets.list_groups())
        for gid, live in self.groups.items():
            known.setdefault(gid, live.protocol_type or "")
        out = []
        for gid, ptype in sorted(known.items()):
            group = self.groups.get(gid)
            state = group.state if group else EMPTY
            ptype = (group.protocol_type if group and group.protocol_type else ptype) or "consumer"
            if states and state not in states:
                continue
            out.append((gid, ptype, state))
        return out

    async def describe(self, group_id: str) -> GroupDescription | None:
        group = self.groups.get(group_id)
        if group is None:
            if not await self.offsets.group_exists(group_id):
                return None
            return GroupDescription(
                group_id=group_id,
                state=EMPTY,
                protocol_type="consumer",
                protocol_name="",
                members=[],
            )
        return GroupDescription(
            group_id=group_id,
            state=group.state,
            protocol_type=group.protocol_type or "consumer",
            protocol_name=group.protocol_name or "",
            members=[
                MemberDescription(
                    member_id=m.member_id,
                    group_instance_id=m.group_instance_id,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    metadata=m.metadata_for(group.protocol_name),
                    assignment=m.assignment,
                )
                for m in group.members.values()
            ],
        )

    async def delete_group(self, group_id: str) -> str:
        group = self.groups.get(group_id)
        if group is not None and group.members:
            return "non_empty_group"
        existed = await self.offsets.delete_group(group_id)
        if group is not None:
            group.state = DEAD
            del self.groups[group_id]
            existed = True
        return "none" if existed else "group_id_not_found"

    def subscribed_members(self, group_id: str) -> list[Member]:
        group = self.groups.get(group_id)
        return list(group.members.values()) if group else []
