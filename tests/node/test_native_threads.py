"""LevelDB's background thread gets a lower CPU priority; Python's threads keep theirs.

Method: make LevelDB start its background thread for real (writes past a small memtable
force a flush), then scan the way the node does and read each thread's nice value back
from the kernel.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import plyvel
import pytest

from node.native_threads import NativeThreadPriority, python_thread_ids, thread_ids

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="Linux only")


def _start_leveldb_thread(path: Path) -> plyvel.DB:
    db = plyvel.DB(str(path), create_if_missing=True, write_buffer_size=64 * 1024)
    for index in range(4_000):  # ~400 KB through a 64 KiB memtable: several flushes
        db.put(index.to_bytes(4, "big"), b"v" * 100)
    return db


def test_leveldb_thread_is_lowered_and_python_threads_are_not(tmp_path: Path) -> None:
    db = _start_leveldb_thread(tmp_path / "db")
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, name="python-worker")
    worker.start()
    try:
        native = thread_ids() - python_thread_ids()
        assert native, "LevelDB started a thread of its own"
        own = os.getpriority(os.PRIO_PROCESS, 0)
        priority = NativeThreadPriority(19)  # above anything an earlier test may have set
        assert priority.scan() == []  # first sight: only a candidate
        lowered = priority.scan()
        assert set(lowered) == native - {threading.get_native_id()}
        for tid in lowered:
            assert os.getpriority(os.PRIO_PROCESS, tid) == priority.niceness
        assert worker.native_id is not None
        assert worker.native_id not in priority.lowered
        assert os.getpriority(os.PRIO_PROCESS, worker.native_id) == own
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own
        assert priority.scan() == []  # each thread once
        db.put(b"after", b"still writes")
        assert db.get(b"after") == b"still writes"
    finally:
        stop.set()
        worker.join()
        db.close()
