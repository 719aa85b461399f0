"""Producer ids for idempotent producers (InitProducerId), allocated by the catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import errors
from .acls import CLUSTER_NAME, ResourceType
from .acls import Operation as Op
from .authorize import scope_allows
from .context import RequestContext

if TYPE_CHECKING:
    from .service import Broker

MAX_EPOCH = 32766


@dataclass(frozen=True, slots=True, kw_only=True)
class ProducerIdAndEpoch:
    producer_id: int
    producer_epoch: int


class ProducerIds:
    def __init__(self, broker: Broker) -> None:
        self._b = broker

    async def init(
        self,
        ctx: RequestContext,
        *,
        transactional_id: str | None,
        producer_id: int = -1,
        producer_epoch: int = -1,
    ) -> ProducerIdAndEpoch:
        if transactional_id is not None:
            # Transactions are not offered yet: a transactional producer gets a clear refusal.
            raise errors.TransactionalIdAuthorizationFailed(
                "transactions are not supported by this broker yet"
            )
        await self._require_idempotent_write(ctx)
        if producer_id >= 0 and producer_epoch >= 0 and producer_epoch < MAX_EPOCH:
            # KIP-360: an idempotent producer bumps its epoch after a sequence error.
            return ProducerIdAndEpoch(producer_id=producer_id, producer_epoch=producer_epoch + 1)
        try:
            new_id = await self._b.catalogue.allocate_producer_id()
        except Exception as exc:
            raise errors.translate(exc) from exc
        return ProducerIdAndEpoch(producer_id=new_id, producer_epoch=0)

    async def _require_idempotent_write(self, ctx: RequestContext) -> None:
        """Kafka (KIP-679): IDEMPOTENT_WRITE on the cluster, or WRITE on any topic."""
        auth = self._b.auth
        if auth.permits(ctx, Op.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME):
            return
        if scope_allows(ctx, Op.WRITE):
            for topic in await self._b.topics.list_topics(ctx):
                if auth.permits(ctx, Op.WRITE, ResourceType.TOPIC, topic.name):
                    return
        raise errors.ClusterAuthorizationFailed(
            f"{ctx.principal.name} may not produce idempotently: it needs IDEMPOTENT_WRITE on"
            " the cluster or WRITE on a topic")
