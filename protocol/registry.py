"""The API families this broker serves: each module has VERSIONS and `handle`."""

from . import (
    api_versions,
    cluster,
    configs,
    fetch,
    groups,
    list_offsets,
    metadata,
    produce,
    producer_ids,
    quotas_admin,
    sasl,
    security_admin,
    topics_admin,
)

MODULES = (
    api_versions,
    metadata,
    produce,
    fetch,
    list_offsets,
    topics_admin,
    configs,
    cluster,
    producer_ids,
    groups,
    quotas_admin,
    sasl,
    security_admin,
)
