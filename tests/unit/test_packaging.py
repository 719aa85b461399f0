"""A regular (non-editable) install carries what the agent reads at run time."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_every_catalogue_migration(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300, cwd=tmp_path,
    )
    [wheel] = tmp_path.glob("streamhouse-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {Path(n).name for n in names if n.startswith("coordinator/migrations/")}
    assert shipped == {p.name for p in (ROOT / "migrations").glob("*.sql")}
    assert "coordinator/sql.py" in names and "streamhouse/cli.py" in names
