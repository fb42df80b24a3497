"""Suite-wide hooks: how `make test` spreads the suite over worker processes, and the
devnet fault timings gathered from them.

`make test` runs `pytest -n 2 --dist loadgroup` (pytest-xdist; docs/TESTING.md, "Workers").
A work unit is a whole test module, or every test that carries the same
`@pytest.mark.xdist_group(name)`, so a module's tests run in file order in one worker and
a module- or package-scoped devnet starts once per worker that needs it. The units that
start real processes go first (they wait on nodes more than they compute, and the longest
of them would otherwise finish last), the rest follow in collection order. Plain `pytest`
(no `-n`) runs everything in one process, in file order, as before.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.devnet_faults.conftest import TIMINGS

# Under this key a worker hands its devnet fault timings to the controller.
FAULT_TIMINGS_KEY = "devnet_fault_timings"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under workers, move the modules that start real processes (marker `e2e`) to the
    front, keeping file order inside each module and among the rest."""
    if not _distributed(config):
        return
    heavy = {item.module.__name__ for item in items
             if item.get_closest_marker("e2e") is not None and hasattr(item, "module")}
    items.sort(key=lambda item: getattr(item, "module", None) is None
               or item.module.__name__ not in heavy)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` with a module as the unit of the tests that have no group."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleOrGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.rfind("@") > nodeid.rfind("]"):
                return nodeid.rsplit("@", 1)[-1]
            return nodeid.split("::", 1)[0]

    config.option.loadscopereorder = False  # the order is collection order (see above)
    return ModuleOrGroupScheduling(config, log)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a worker: hand this worker's devnet fault timings to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[FAULT_TIMINGS_KEY] = dict(TIMINGS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """In the controller: gather a finished worker's devnet fault timings."""
    TIMINGS.update(getattr(node, "workeroutput", {}).get(FAULT_TIMINGS_KEY, {}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("devnet fault timings")
        for key, value in TIMINGS.items():
            terminalreporter.write_line(f"{key}: {value:.2f} s")


def _distributed(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")
