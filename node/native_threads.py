"""CPU priority of the threads native libraries start in this process.

LevelDB (through plyvel) runs its memtable flushes and compactions on one background thread
it starts itself, the first time it has such work. Compaction comes in bursts (with a state
of 1,000,000 accounts, ~1-2 s of a core every ~12 s per node at 1,400 tx/s) and competes
for the cores with the event loop, which then answers late: latency tails. Lowering that
thread's priority (`nice`) lets the event loop and the verification threads run first while
the compaction still uses every idle moment; RocksDB offers the same for its compaction pool
(`Env::LowerThreadPoolCPUPriority`). LevelDB's own back-pressure (slower writes when level-0
files pile up) still bounds how far compaction may fall behind.

Linux only (`/proc/self/task`, per-thread `setpriority`); elsewhere nothing is changed. A
nice value ranks threads within their scheduling group only (a session under autogroup, a
cgroup under the CPU controller), so nodes sharing a machine must share the group for it to
hold between them (`devnet.processes`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

TASKS = Path("/proc/self/task")
MAX_THREADS = 4_096  # threads examined per scan


def thread_ids() -> set[int]:
    """Native ids of every thread of this process (empty where /proc is not available)."""
    try:
        names = os.listdir(TASKS)
    except OSError:
        return set()
    return {int(name) for name in names[:MAX_THREADS] if name.isdigit()}


def python_thread_ids() -> set[int]:
    """Native ids of the threads Python's `threading` knows (started from Python)."""
    return {t.native_id for t in threading.enumerate() if t.native_id is not None}


class NativeThreadPriority:
    """Lowers the priority of native threads (not started from Python) to `niceness`.

    Call `scan()` now and then (the node does every few seconds). A thread counts as native
    when two scans in a row see it and `threading` does not know it, so a Python thread
    caught between its creation and its registration is never touched. Each thread is
    changed once; `lowered` holds the ids changed.
    """

    def __init__(self, niceness: int) -> None:
        assert 0 < niceness <= 19, "niceness is 1..19"
        self.niceness = niceness
        self.lowered: set[int] = set()
        self._candidates: set[int] = set()

    def scan(self) -> list[int]:
        """One pass; returns the thread ids lowered in it."""
        foreign = thread_ids() - python_thread_ids() - {threading.get_native_id()}
        due = sorted((foreign & self._candidates) - self.lowered)
        self._candidates = foreign
        done: list[int] = []
        for tid in due:
            try:
                if os.getpriority(os.PRIO_PROCESS, tid) < self.niceness:
                    os.setpriority(os.PRIO_PROCESS, tid, self.niceness)
            except OSError:  # the thread ended between the listing and now
                continue
            self.lowered.add(tid)
            done.append(tid)
        return done
