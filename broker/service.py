"""The broker: its operations grouped by what they act on, over the state they share (the
catalogue, the segment log, the group state machine, this agent's registration)."""

from __future__ import annotations

from dataclasses import dataclass

from coordinator.catalogue import Agent, Catalogue
from storage.log import LogManager

from .acls import Acls
from .authorize import Authorizer
from .cluster import Cluster
from .fetch import Fetch
from .groups import Groups
from .peers import Peers
from .produce import Produce
from .producer_ids import ProducerIds
from .quotas import Quotas
from .registry.service import RegistryStore
from .schema_policy import SchemaValidator
from .serde import Serde
from .sessions import Sessions
from .tenants import Tenants
from .topics import Topics


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerOptions:
    cluster_id: str = "streamhouse"
    auto_create_topics: bool = True
    default_partitions: int = 1
    max_request_bytes: int = 100 * 1024 * 1024
    group_initial_rebalance_delay_ms: int = 200


class _NoPeers:
    """Until the Kafka door is up, there is no way to reach other agents."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError("the agent cannot reach other agents before its listener starts")


class Broker:
    def __init__(
        self,
        *,
        catalogue: Catalogue,
        logs: LogManager,
        agent: Agent,
        options: BrokerOptions,
        peers: Peers | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.logs = logs
        self.agent = agent
        self.options = options
        self.peers: Peers = peers if peers is not None else _NoPeers()  # type: ignore[assignment]
        self.schema_policy = SchemaValidator(catalogue.registry)
        self.registry_store: RegistryStore = catalogue.registry
        self.serde = Serde(catalogue.registry)  # registry-framed values for the HTTP doors
        self.topics = Topics(self)
        self.produce = Produce(self)
        self.fetch = Fetch(self)
        self.groups = Groups(self)
        self.cluster = Cluster(self)
        self.producer_ids = ProducerIds(self)
        self.sessions = Sessions()
        # The cluster's shared secret, signing agent-to-agent requests (broker.runtime sets it).
        self.peer_secret: bytes | None = None
        self.tenants = Tenants(catalogue.tenants, self.sessions)
        self.quotas = Quotas(self, catalogue.quotas)
        self.acls = Acls(self, catalogue.acls)
        self.auth = Authorizer(self.acls)

    @property
    def node_id(self) -> int:
        return self.agent.broker_id
