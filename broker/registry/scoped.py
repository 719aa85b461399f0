"""The registry's tables as one organization sees them: every call of the store is made
for the organization of the request being served (a context variable the registry's HTTP
door sets once it knows who is calling), so the registry's rules need no organization
argument and cannot forget one."""

from __future__ import annotations

import functools
import inspect
from contextvars import ContextVar
from typing import Any

from coordinator.registry import DEFAULT_ORG, RegistryStore

current_org: ContextVar[str] = ContextVar("registry_org", default=DEFAULT_ORG)


@functools.cache
def _scoped_methods() -> frozenset[str]:
    return frozenset(name for name, fn in inspect.getmembers(RegistryStore, inspect.isfunction)
                     if "org_id" in inspect.signature(fn).parameters)


class ScopedRegistryStore:
    """A RegistryStore whose calls carry `org_id=current_org.get()`."""

    def __init__(self, store: RegistryStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name in _scoped_methods():
            return functools.partial(attr, org_id=current_org.get())
        return attr
