"""The catalogue's records as the broker's results name them (frozen dataclasses)."""

from coordinator.catalogue import (
    DEFAULT_ORG,
    Agent,
    AgentId,
    OrgId,
    PartitionState,
    Topic,
    TopicId,
)

__all__ = ["DEFAULT_ORG", "Agent", "AgentId", "OrgId", "PartitionState", "Topic", "TopicId"]
