"""Fixtures shared by the unit tests."""

import pytest

from coordinator.catalogue import Catalogue
from streamhouse.registry.service import Registry


@pytest.fixture
async def registry():
    cat = Catalogue.from_url("sqlite://:memory:")
    await cat.open()
    yield Registry(cat.registry)
    await cat.close()
