"""streamctl's offset and time grammar (streamctl/grammar.py)."""

import pytest

from streamctl.errors import CliError
from streamctl.grammar import reset_body, timestamp_ms

NOW = 1_764_583_200_000  # 2025-12-01T10:00:00Z


def test_times() -> None:
    assert timestamp_ms("2025-12-01T10:00", NOW) == NOW  # UTC unless it says otherwise
    assert timestamp_ms("2025-12-01T11:00+01:00", NOW) == NOW
    assert timestamp_ms("-1h", NOW) == NOW - 3_600_000
    assert timestamp_ms("-30m", NOW) == NOW - 1_800_000
    assert timestamp_ms("-1.5s", NOW) == NOW - 1500
    assert timestamp_ms("1700000000000", NOW) == 1_700_000_000_000
    with pytest.raises(CliError, match="is not a time"):
        timestamp_ms("yesterday", NOW)


def test_reset_targets() -> None:
    assert reset_body("earliest") == reset_body("start") == {"strategy": "earliest"}
    assert reset_body("end") == {"strategy": "latest"}
    assert reset_body("42") == {"strategy": "specific", "offset": 42}
    assert reset_body("@-1h", NOW) == {"strategy": "timestamp", "timestamp": NOW - 3_600_000}
    with pytest.raises(CliError) as info:
        reset_body("-5")
    assert info.value.code == 2


def test_docs_cli_md_is_the_command_tree() -> None:
    """docs/CLI.md is generated (python -m streamctl.docs > docs/CLI.md): it never drifts."""
    from pathlib import Path

    from streamctl.docs import render

    page = Path(__file__).resolve().parents[2] / "docs" / "CLI.md"
    assert page.read_text() == render(), "run: python -m streamctl.docs > docs/CLI.md"
    for command in ("topic consume", "group reset", "schema check", "acl create", "shell"):
        assert f"streamctl {command}" in page.read_text()


def test_names_stay_one_path_segment() -> None:
    from streamctl.paths import seg

    assert seg("orders") == "orders"
    assert seg("../topics/orders") == "..%2Ftopics%2Forders"
    assert seg("..") == "%2E%2E" and seg(".") == "%2E"
    assert seg("a?b#c%d e") == "a%3Fb%23c%25d%20e"
