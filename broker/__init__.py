"""The broker's operations, the same for every front door (Kafka, REST, registry, console, CLI).

Every operation takes a `RequestContext` first, returns typed results and raises errors
rooted at `broker.errors.BrokerError`. This package never imports `protocol/` or
`streamhouse/`: the front doors call it, not the other way round (DESIGN.md §2).
"""
