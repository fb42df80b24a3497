"""The SDK tests reuse two fixtures: the RPC method tests' in-process node (`running`) and
the CLI tests' one-validator devnet in `<tmp>/.devnet` (`shell`, started once for this
package and stopped afterwards whatever happens)."""

from tests.cli_e2e.conftest import shell  # noqa: F401  (the fixture, re-exported)
from tests.rpc_methods.conftest import running  # noqa: F401  (the fixture, re-exported)
