"""Fixtures shared by the unit tests."""

import pytest

from broker.registry.service import Registry
from coordinator.catalogue import Catalogue


@pytest.fixture
async def registry():
    cat = Catalogue.from_url("sqlite://:memory:")
    await cat.open()
    yield Registry(cat.registry)
    await cat.close()
