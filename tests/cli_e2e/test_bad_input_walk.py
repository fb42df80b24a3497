"""Every `agora tx` and `agora query` command, given a bad input a user can type, answers one
line in words with the right exit code (2 usage, 1 refusal), and nothing on the chain
changes."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.cli_e2e.conftest import Shell
from tests.cli_e2e.test_shop_cli import free_base_port
from tests.docs.gen_cli_doc import command_paths

pytestmark = pytest.mark.e2e

NO_SUCH = "999999"
# Text that is not words for a user: library output, URLs, patterns, base-unit notes.
NOT_WORDS = re.compile(r"Traceback|pydantic|Input should|validation error|http|\^|\{0,|"
                       r"ssl:|errors\.pydantic")

# (command line, exit code, what the error line starts with)
TX_CASES: list[tuple[list[str], int, str]] = [
    (["transfer", "--from", "alice", "--to", "bob", "--amount", "0"], 1,
     "error: bad_amount: --amount must be at least 0.000001 AGR"),
    (["transfer", "--from", "alice", "--to", "bob", "--amount", "-5"], 1,
     "error: bad_amount: --amount must be more than 0"),
    (["transfer", "--from", "alice", "--to", "bob", "--amount", "12,5"], 1,
     "error: bad_amount: --amount '12,5' is not an amount in tokens like 12.5"),
    (["transfer", "--from", "alice", "--to", "bob", "--amount", "99999999"], 1,
     "error: insufficient_funds: balance 10000 AGR is below 99999999 AGR"),
    (["transfer", "--from", "alice", "--to", "nobody", "--amount", "1"], 1,
     "error: key_not_found: "),
    (["merchant-register", "--from", "alice", "--name", ""], 1,
     "error: field_invalid: --name must have at least 1 character"),
    (["merchant-vote", "--from", "v0", "--merchant", "acme", "--action", "aprove"], 2,
     "error: usage: Invalid value for '--action': 'aprove' is not one of"),
    (["merchant-vote", "--from", "v0", "--merchant", "acme", "--action", "approve"], 1,
     "error: merchant_state: the merchant is approved, and --action approve applies to a "
     "pending merchant"),
    (["listing-create", "--from", "acme", "--title", "Mug", "--price", "1", "--stock", "1",
      "--category", "Bad Cat"], 1, "error: field_invalid: --category has characters"),
    (["listing-create", "--from", "acme", "--title", "Mug", "--price", "0", "--stock", "1"], 1,
     "error: bad_amount: --price must be"),
    (["listing-update", "--from", "acme", "--listing", NO_SUCH, "--price", "2"], 1,
     "error: not_found: "),
    (["listing-delist", "--from", "acme", "--listing", "0"], 2, "error: usage: "),
    (["listing-media", "--from", "acme", "--listing", NO_SUCH, "--media", "ab"], 1,
     "error: not_found: "),
    (["share", "--from", "alice", "--listing", NO_SUCH], 1, "error: "),
    (["comment", "--from", "alice", "--listing", "1", "--text", ""], 1,
     "error: field_invalid: --text must have at least 1 character"),
    (["purchase", "--from", "bob", "--share", "agora://listing/x"], 2,
     "error: usage: --share 'agora://listing/x' is neither a share number nor a referral link"),
    (["purchase", "--from", "bob"], 2,
     "error: usage: name the listing with --listing ID or a --share referral link"),
    (["purchase", "--from", "bob", "--listing", "2", "--share", "agora://listing/3?share=1"], 2,
     "error: usage: the --share link is for listing 3, not --listing 2"),
    (["purchase", "--from", "bob", "--listing", NO_SUCH], 1, "error: not_found: "),
    (["order-ship", "--from", "acme", "--order", NO_SUCH], 1, "error: "),
    (["order-confirm", "--from", "bob", "--order", NO_SUCH], 1, "error: "),
    (["order-cancel", "--from", "bob", "--order", "abc"], 2,
     "error: usage: Invalid value for '--order': must be a whole number"),
    (["order-refund", "--from", "acme", "--order", NO_SUCH], 1, "error: "),
    (["order-dispute", "--from", "bob", "--order", NO_SUCH], 1, "error: "),
    (["dispute-vote", "--from", "v0", "--order", "1", "--decision", "maybe"], 2,
     "error: usage: Invalid value for '--decision'"),
    (["review", "--from", "bob", "--order", "1", "--rating", "6"], 2, "error: usage: "),
    (["review-reply", "--from", "acme", "--order", NO_SUCH, "--text", "hi"], 1, "error: "),
    (["poll-create", "--from", "acme", "--question", "Q?", "--option", "a"], 1,
     "error: field_invalid: --option must be given at least 2 times"),
    (["poll-create", "--from", "acme", "--question", "Q?", "--option", "a", "--option", "b",
      "--scope", "world"], 2, "error: usage: Invalid value for '--scope'"),
    (["poll-vote", "--from", "bob", "--poll", NO_SUCH, "--option", "0"], 1, "error: "),
    (["reward-claim", "--from", "nobody"], 1, "error: key_not_found: "),
    (["team-offer-set", "--from", "acme", "--listing", NO_SUCH, "--size", "2", "--price", "1",
      "--window", "5"], 1, "error: not_found: "),
    (["team-offer-end", "--from", "acme", "--listing", NO_SUCH], 1, "error: not_found: "),
    (["team-open", "--from", "bob", "--listing", NO_SUCH], 1, "error: not_found: "),
    (["team-join", "--from", "bob", "--team", "agora://team/x"], 2,
     "error: usage: --team 'agora://team/x' is neither a team number nor a team link"),
    (["campaign-create", "--from", "acme", "--budget", "5", "--discount", "1",
      "--discount-bps", "100", "--blocks", "5"], 2,
     "error: usage: give one of --discount TOKENS or --discount-bps N"),
    (["campaign-close", "--from", "acme", "--campaign", NO_SUCH], 1, "error: not_found: "),
    (["coupon-purchase", "--from", "bob", "--listing", NO_SUCH, "--campaign", "1"], 1,
     "error: not_found: "),
    (["flash-sale-set", "--from", "acme", "--listing", "1", "--price", "0", "--stock", "1",
      "--blocks", "5"], 1, "error: bad_amount: --price must be"),
    (["profile-set", "--from", "bob", "--field", "address"], 2,
     "error: usage: --field 'address' is not name=value"),
    (["profile-disclose", "--from", "bob", "--field", "nosuch", "--to", "acme"], 1,
     "error: not_found: the profile has no field 'nosuch' sealed to its owner"),
    (["profile-revoke", "--from", "bob", "--field", "nosuch", "--to", "acme"], 1,
     "error: not_found: field 'nosuch' is not disclosed to agora1"),
    (["follow", "--from", "bob", "--account", "bob"], 1,
     "error: self_follow: an account cannot follow itself"),
    (["unfollow", "--from", "bob", "--account", "agora1bad"], 1, "error: bad_address: "),
    (["buy", "--from", "bob", "--listing", "1"], 2,
     "error: usage: no command 'buy' here; did you mean 'purchase'?"),
    # Governance (docs/GOVERNANCE.md).
    (["validator-propose", "add", "--from", "v0", "--name", "v9", "--key", "nobody",
      "--p2p-address", "10.0.0.9:26656"], 1, "error: key_not_found: "),
    (["validator-propose", "add", "--from", "v0", "--name", "v 9", "--key", "ab" * 32,
      "--p2p-address", "10.0.0.9:26656"], 1,
     "error: field_invalid: validator_propose.name: letters, digits"),
    (["validator-propose", "remove", "--from", "v0", "--validator", "nobody"], 1,
     "error: not_in_set: --validator nobody is not a validator"),
    (["validator-propose", "remove", "--from", "v0", "--validator", "v0"], 1,
     "error: set_too_small: "),
    (["validator-propose", "rotate-key", "--from", "v0", "--new-key", "nobody"], 1,
     "error: key_not_found: "),
    (["validator-propose", "set-param", "--from", "v0", "--param", "nope", "--value", "1"], 1,
     "error: unknown_param: "),
    (["validator-propose", "set-param", "--from", "v0", "--param", "poll_max_blocks",
      "--value", "-1"], 2, "error: usage: "),
    (["validator-vote", "--from", "v0", "--proposal", NO_SUCH, "--vote", "yes"], 1,
     "error: not_found: no proposal 999999"),
    (["validator-vote", "--from", "v0", "--proposal", "1", "--vote", "maybe"], 2,
     "error: usage: Invalid value for '--vote'"),
    (["validator-withdraw", "--from", "v0", "--proposal", NO_SUCH], 1, "error: not_found: "),
]
QUERY_CASES: list[tuple[list[str], int, str]] = [
    (["status", "--output", "yaml"], 2, "error: usage: "),
    (["peers", "--output", "yaml"], 2, "error: usage: "),
    (["account", "agora1notanaddress"], 1, "error: bad_address: "),
    (["supply", "--bogus"], 2, "error: usage: "),
    (["block", "0"], 2, "error: usage: "),
    (["block", NO_SUCH], 1, "error: not_found: "),
    (["tx", "abc"], 2, "error: usage: Invalid value for 'TX_ID': 'abc' is not a transaction id"),
    (["certificate", NO_SUCH], 1, "error: not_found: "),
    (["validators", "extra"], 2, "error: usage: "),
    (["merchant", "nobody"], 1, "error: key_not_found: "),
    (["merchants", "--status", "weird"], 2, "error: usage: Invalid value for '--status'"),
    (["listing", NO_SUCH], 1, "error: not_found: "),
    (["listing-versions", "0"], 2, "error: usage: Invalid value for 'LISTING_ID': must be "
     "at least 1"),
    (["listings", "--limit", "0"], 2, "error: usage: "),
    (["order", NO_SUCH], 1, "error: not_found: "),
    (["orders", "--status", "pad"], 2, "error: usage: Invalid value for '--status'"),
    (["review", NO_SUCH], 1, "error: not_found: "),
    (["reviews", "0"], 2, "error: usage: "),
    (["comment", NO_SUCH], 1, "error: not_found: "),
    (["comments", "abc"], 2, "error: usage: "),
    (["share", NO_SUCH], 1, "error: not_found: "),
    (["poll", NO_SUCH], 1, "error: not_found: "),
    (["polls", "--open-at", "-1"], 2, "error: usage: "),
    (["rewards", "agora1bad"], 1, "error: bad_address: "),
    (["team-offer", NO_SUCH], 1, "error: not_found: "),
    (["team", "0"], 2, "error: usage: "),
    (["teams"], 2, "error: usage: name one of --listing ID or --account ADDRESS"),
    (["campaign", NO_SUCH], 1, "error: not_found: "),
    (["campaigns", "agora1bad"], 1, "error: bad_address: "),
    (["flash-sale", NO_SUCH], 1, "error: not_found: "),
    (["stats"], 2, "error: usage: no command 'stats' here; did you mean 'status'?"),
    (["validators", "--height", "0"], 2, "error: usage: "),
    (["validators", "--height", NO_SUCH], 1, "error: not_found: the set of height 999999"),
    (["params", "--height", "0"], 2, "error: usage: "),
    (["params", "--height", NO_SUCH], 1, "error: not_found: height 999999 is above the head"),
    (["proposals", "--status", "lost"], 2, "error: usage: Invalid value for '--status'"),
    (["proposal", NO_SUCH], 1, "error: not_found: no proposal 999999"),
]


def _chain_view(shell: Shell) -> dict[str, Any]:
    """What a bad command must not change: every devnet account's balance and nonce, and
    the counts of listings, orders and polls."""
    view: dict[str, Any] = {}
    for name, address in sorted(shell.accounts.items()):
        account = shell.ok("query", "account", address)
        view[name] = (account["balance"], account["nonce"], account["pending_nonce"])
    for thing in ("listings", "orders", "polls"):
        args = ["--buyer", shell.accounts["bob"]] if thing == "orders" else []
        view[thing] = len(shell.ok("query", thing, *args, "--limit", "200")["items"])
    return view


def _check(shell: Shell, group: str, args: list[str], code: int, start: str) -> str | None:
    """None when the command answers as expected, else what went wrong."""
    extra = shell.keyring if group == "tx" else []
    done = shell.run(group, *args, *extra)
    lines = done.stderr.strip().splitlines()
    problems = []
    if done.returncode != code:
        problems.append(f"exit {done.returncode}, not {code}")
    if len(lines) != 1 or done.stdout:
        problems.append(f"not one line: stdout={done.stdout!r} stderr={done.stderr!r}")
    line = lines[-1] if lines else ""
    if not line.startswith(start):
        problems.append(f"line {line!r} does not start with {start!r}")
    if NOT_WORDS.search(line):
        problems.append(f"line {line!r} is not in words")
    return f"agora {group} {' '.join(args)}: {'; '.join(problems)}" if problems else None


# One `agora` process per case, four at a time: ~70 cases (every tx and query command) take
# under a minute on an idle machine, but several minutes on 2 cores under a load of 20.
WALK_TIMEOUT_S = 900


@pytest.mark.timeout(WALK_TIMEOUT_S)
def test_every_tx_and_query_command_with_bad_input_is_one_line_and_changes_nothing(
        shell: Shell) -> None:
    before = _chain_view(shell)
    cases = [("tx", *case) for case in TX_CASES] + [("query", *case) for case in QUERY_CASES]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda case: _check(shell, *case), cases))
    failures = [outcome for outcome in outcomes if outcome]
    assert not failures, "\n".join(failures)
    assert _chain_view(shell) == before


def test_walk_covers_every_tx_and_query_command(shell: Shell) -> None:
    paths = command_paths()
    for group, cases in (("tx", TX_CASES), ("query", QUERY_CASES)):
        # A case names its command by its first word, or two (`validator-propose add`).
        named = {f"agora {group} {' '.join(case[0][:words])}" for case in cases
                 for words in (1, 2)}
        wanted = {p for p in paths if p.startswith(f"agora {group} ")}
        assert wanted <= named, f"no bad-input case for {sorted(wanted - named)}"


def test_query_into_closed_pipe_exits_quietly(shell: Shell) -> None:
    """`agora query status | head -0`: the reader is gone before the first write."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = shell.run_to("query", "block", "1", stdout=write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr


def test_query_dead_node_line_names_the_url_once(shell: Shell) -> None:
    url = f"http://127.0.0.1:{free_base_port(1)}"
    done = shell.run("query", "supply", "--node", url)
    assert done.returncode == 1 and done.stderr.count(url) == 1, done.stderr
