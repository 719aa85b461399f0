"""kafkajs (2.2, node): consumer groups (scenarios in group_scenarios.py).

Every member is a node process running kafkajs/group_member.js, which prints
the same events as the Python drivers (so killing one with SIGKILL is just
another member). kafkajs commits explicitly after each batch (autoCommit
off); it is eager-only (roundrobin) and has no static membership, so the
cooperative-sticky and group.instance.id scenarios do not apply to it.
Setup: ``cd compat-tests/kafkajs && npm ci``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import group_scenarios as gs
import pytest

CLIENT = "kafkajs"
HERE = Path(__file__).resolve().parent / "kafkajs"
SCRIPT = HERE / "group_member.js"
NODE = shutil.which("node")


@pytest.fixture
def grp(bootstrap, request, tmp_path, need_tool):
    need_tool(NODE is not None, "node is not installed")
    need_tool(
        (HERE / "node_modules" / "kafkajs").is_dir(),
        "kafkajs is not installed (cd compat-tests/kafkajs && npm ci)",
    )
    g = gs.GroupTest(bootstrap, gs.NodeClient(CLIENT, NODE, SCRIPT), request.node.name, tmp_path)
    try:
        yield g
    finally:
        g.close_all()



class TestGroups(gs.CommonScenarios):
    pass
