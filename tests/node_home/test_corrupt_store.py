"""`agora start` on a home whose LevelDB files are corrupt says so in one line and exits 1,
never with a traceback (issue 19, "a corrupt LevelDB shown as a traceback").

Method: a real home (`agora init` in a subprocess), its store made by `Store.open` with a
block's worth of writes compacted into table files, then one file overwritten with junk
and the installed `agora start --home` run in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import plyvel
import pytest

from node.home import load_home
from node.state_store import GENESIS_STATE_DIR, STATE_DIR
from node.store import Store

AGORA = Path(sys.executable).parent / "agora"


def _agora(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGORA_HOME": str(home), "AGORA_PASSPHRASE": ""}
    env.pop("AGORA_DEBUG", None)
    return subprocess.run([str(AGORA), *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=60)


def _home_with_store(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    done = _agora("init", "--moniker", "solo", home=home)
    assert done.returncode == 0, done.stderr
    loaded = load_home(home)
    Store.open(loaded.home.data_dir, loaded.genesis).close()
    chain = plyvel.DB(str(loaded.home.data_dir))
    chain.compact_range()  # the chain's metadata into a table file
    chain.close()
    return home


def _junk(path: Path) -> None:
    path.write_bytes(b"\xa5" * max(64, path.stat().st_size))


@pytest.mark.parametrize("target", ["CURRENT", "chain table", "genesis state table"])
def test_start_on_corrupt_leveldb_prints_one_line_and_exits_1(tmp_path: Path,
                                                              target: str) -> None:
    home = _home_with_store(tmp_path)
    data = home / "data"
    if target == "CURRENT":
        _junk(data / "CURRENT")
    else:
        directory = data if target == "chain table" else data / STATE_DIR / GENESIS_STATE_DIR
        tables = sorted(directory.glob("*.ldb"))
        assert tables, f"no table file in {directory}"
        for table in tables:
            _junk(table)
    result = _agora("start", "--home", str(home), home=home)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: store_corrupt: the LevelDB in "), lines[0]
    assert "re-sync" in lines[0]
