"""Regenerate the command sections of docs/CLI.md from the typer app.

    python -m tests.docs.gen_cli_doc

Method: walk `typer.main.get_command(cli.main.app)` (hidden commands skipped), and for each
command path write a ``### agora ...`` section with its help text, its arguments and options
(the options every `agora tx` command shares are listed once, under the tx group), and an
example taken from `EXAMPLES` below. Only the region between ``<!-- generated:commands -->``
and ``<!-- /generated:commands -->`` is rewritten; the conventions above it are written by
hand. `tests/docs/test_cli_doc.py` fails when a command has no example here. Sections come in
the order of `EXAMPLES`, which is one story: `tests/cli_e2e/test_doc_examples.py` runs the
examples in page order against a fresh devnet, except those in `NO_RUN`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer.main

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
CLI_DOC = ROOT / "docs" / "CLI.md"

# Options every `agora tx <type>` takes (documented once) and options documented under
# "Conventions" for every command.
TX_SHARED = ("--from", "--keyring-dir", "--keyring-backend", "--home", "--passphrase-file",
             "--node", "--wait", "--dry-run", "--nonce", "--output")
CONVENTIONS = ("--output", "--node")

K = "--keyring-backend test --keyring-dir .devnet/keyring"
# A whole 1x1 GIF (35 bytes) as printf octal escapes, so the media examples run anywhere.
DOT_GIF = ("GIF89a\\001\\000\\001\\000\\200\\000\\000\\000\\000\\000\\377\\377\\377,"
           "\\000\\000\\000\\000\\001\\000\\001\\000\\000\\002\\002D\\001\\000;")
# One story, in the order of the page: tests/cli_e2e/test_doc_examples.py runs every example
# as written against a fresh devnet, after the first session in the hand-written part (which
# makes listing 1, share 1 and order 1, shipped). The ids below follow from that order.
EXAMPLES: dict[str, str] = {
    "agora init": "agora init --home ~/.agora --moniker my-node",
    "agora start": "agora start --home ~/.agora --log-level info --log-format text",
    "agora keys add": "agora keys add alice            # asks a passphrase twice\n"
                      "agora keys add ci --keyring-backend test",
    "agora keys list": "agora keys list --output json",
    "agora keys show": "agora keys show alice --address",
    "agora keys export": "agora keys export alice > alice.key        # armored, encrypted\n"
                         "agora keys export alice --hex --unsafe     # raw seed",
    "agora keys import": "agora keys import alice2 alice.key\n"
                         "agora keys import operator --from-node-key --home ~/.agora"
                         "   # the account agora init funded",
    "agora keys delete": "agora keys delete alice2 --yes",
    "agora tx transfer": f"agora tx transfer --from alice --to bob --amount 12.5 {K}",
    "agora tx merchant-register": f'agora tx merchant-register --from carol --name "Carol\'s Maps" '
                                  f'--profile "Vintage maps" {K}',
    "agora tx merchant-vote": f"agora tx merchant-vote --from v0 --merchant carol "
                              f"--action approve {K}",
    "agora tx listing-create": f'agora tx listing-create --from acme --title "Teapot" '
                               f"--price 30 --stock 5 --category kitchen --referral-bps 500 {K}\n"
                               "# ...\n# listing  2",
    "agora tx listing-update": f"agora tx listing-update --from acme --listing 1 --price 12 {K}",
    "agora tx share": f"agora tx share --from alice --listing 2 {K}\n"
                      "# ...\n# share          2\n"
                      "# referral_link  agora://listing/2?share=2",
    "agora tx comment": f'agora tx comment --from alice --listing 1 --text "Blue too?" {K}',
    "agora tx profile-set": f'agora tx profile-set --from bob --name Bob --field "address=Bob, '
                            f'1 Main St" --field "phone=555 0100" --to carol {K}',
    "agora tx purchase": f"agora tx purchase --from bob --share 'agora://listing/2?share=2' "
                         f'--quantity 2 --delivery "Bob, 1 Main St" {K}   # order 2\n'
                         f"agora tx purchase --from carol --listing 1 {K}   # order 3\n"
                         f"agora tx purchase --from bob --listing 1 --delivery-field address "
                         f"{K}   # order 4: the details from bob's profile",
    "agora tx order-ship": f'agora tx order-ship --from acme --order 2 --tracking "UPS 1Z999" {K}',
    "agora tx order-confirm": f"agora tx order-confirm --from bob --order 1 {K}",
    "agora tx review": f'agora tx review --from bob --order 1 --rating 5 --text "Lovely" {K}',
    "agora tx review-reply": f'agora tx review-reply --from acme --order 1 --text "Thanks!" {K}',
    "agora tx order-cancel": f"agora tx order-cancel --from carol --order 3 {K}",
    "agora tx order-dispute": f'agora tx order-dispute --from bob --order 2 --reason "broken" {K}',
    "agora tx dispute-vote": f"agora tx dispute-vote --from v0 --order 2 --decision refund {K}",
    "agora tx order-refund": f"agora tx order-refund --from acme --order 2 {K}"
                             "   # the merchant concedes the dispute",
    "agora tx poll-create": f'agora tx poll-create --from acme --question "Next glaze?" '
                            f"--option blue --option green --close-in 100 {K}",
    "agora tx poll-vote": f"agora tx poll-vote --from bob --poll 1 --option 0 {K}",
    "agora tx reward-claim": f"agora tx reward-claim --from bob {K}",
    "agora tx profile-disclose": f"agora tx profile-disclose --from bob --field address "
                                 f"--order 4 {K}   # to the merchant of order 4",
    "agora tx profile-revoke": f"agora tx profile-revoke --from bob --field phone --to carol {K}",
    "agora tx follow": f"agora tx follow --from alice --account acme {K}\n"
                       f"agora tx follow --from alice --account bob {K}",
    "agora tx unfollow": f"agora tx unfollow --from alice --account bob {K}",
    "agora tx listing-delist": f"agora tx listing-delist --from acme --listing 2 {K}",
    # Governance (docs/GOVERNANCE.md): a parameter change voted through by v0, v1 and v2.
    "agora tx validator-propose set-param": "agora tx validator-propose set-param --from v0 "
                                            f"--param poll_max_blocks --value 500000 {K}"
                                            "   # proposal 1\n"
                                            "agora tx validator-propose set-param --from v1 "
                                            f"--param reward_comment_limit --value 3 {K}"
                                            "   # proposal 2",
    "agora tx validator-vote": f"agora tx validator-vote --from v1 --proposal 1 --vote yes {K}\n"
                               f"agora tx validator-vote --from v2 --proposal 1 --vote yes {K}\n"
                               "# ...\n# proposal_status    passed",
    "agora tx validator-withdraw": f"agora tx validator-withdraw --from v1 --proposal 2 {K}",
    # The devnet runs 4 nodes: adding one for real needs its node (agora devnet
    # add-validator), so these simulate; a set of 4 never shrinks (no-run).
    "agora tx validator-propose add": f"agora keys add v4 {K}\n"
                                      "agora tx validator-propose add --from v0 --name v4 "
                                      f"--key v4 --p2p-address 127.0.0.1:26700 --dry-run {K}",
    "agora tx validator-propose rotate-key": f"agora keys add v0-next {K}\n"
                                             "agora tx validator-propose rotate-key --from v0 "
                                             f"--new-key v0-next --dry-run {K}",
    "agora tx validator-propose remove": "agora tx validator-propose remove --from v0 "
                                         f"--validator v4 {K}",
    "agora tx team-offer-set": f"agora tx team-offer-set --from acme --listing 1 --size 2 "
                               f"--price 10 --window 50 {K}",
    "agora tx team-open": f"agora tx team-open --from alice --listing 1 {K}\n"
                          "# ...\n# team       1\n# deadline   88\n"
                          "# team_link  agora://team/1",
    "agora tx team-join": f"agora tx team-join --from bob --team 'agora://team/1' {K}\n"
                          "# ...\n# team        1\n# seats_left  0\n# orders      4 5",
    "agora tx team-offer-end": f"agora tx team-offer-end --from acme --listing 1 {K}",
    "agora tx campaign-create": f"agora tx campaign-create --from acme --discount 2 "
                                f"--min-spend 10 --budget 20 --blocks 200 {K}\n"
                                "# ...\n# campaign  1",
    "agora tx coupon-purchase": f"agora tx coupon-purchase --from carol --listing 1 "
                                f"--campaign 1 {K}\n"
                                "# ...\n# order     6\n# total     12\n# discount  2",
    "agora tx flash-sale-set": f"agora tx flash-sale-set --from acme --listing 1 --price 9 "
                               f"--stock 5 --blocks 100 {K}",
    "agora tx campaign-close": f"agora tx campaign-close --from acme --campaign 1 {K}"
                               "   # what is left of the budget returns",
    "agora tx listing-media": f'agora tx listing-media --from acme --listing 1 '
                              f'--media "$(sha256sum dot.gif | cut -c1-64)" {K}\n'
                              "# a blob's name is the SHA-256 of the file; upload it too "
                              "(agora media upload)",
    "agora query status": "agora query status",
    "agora query peers": "agora query peers",
    "agora query validators": "agora query validators\nagora query validators --height 1",
    "agora query params": "agora query params\n"
                          "agora query params --height 1 --output json",
    "agora query account": f"agora query account bob {K}\n"
                           "# address        agora1u3vcgcryu55pa2z8k74rs0ulz57g6whrlar7ya\n"
                           "# balance        9939\n# nonce          12\n# pending nonce  12",
    "agora query supply": "agora query supply --output json",
    "agora query block": "agora query block 2",
    "agora query tx": "# the purchase that created order 1, found in its block:\n"
                      "H=$(agora query order 1 | awk '$1 == \"created_height\" {print $2}')\n"
                      "TX=$(agora query block \"$H\" | awk '$2 == \"purchase\" {print $1; exit}')\n"
                      'agora query tx "$TX"',
    "agora query certificate": "agora query certificate 2 --output json",
    "agora query merchant": f"agora query merchant acme {K}",
    "agora query merchants": "agora query merchants --status approved",
    "agora query listing": "agora query listing 1 --version 1",
    "agora query listing-versions": "agora query listing-versions 1",
    "agora query listings": "agora query listings --category kitchen --active-only\n"
                            "# ID  TITLE            PRICE  STOCK  CATEGORY  RATING    ACTIVE\n"
                            "# 1   Hand-thrown mug  12     9      kitchen   5.00 (1)  yes",
    "agora query order": "agora query order 1 --output json",
    "agora query orders": f"agora query orders --buyer bob {K}",
    "agora query review": "agora query review 1",
    "agora query reviews": "agora query reviews 1",
    "agora query comment": "agora query comment 1",
    "agora query comments": "agora query comments 1",
    "agora query share": "agora query share 1",
    "agora query poll": "agora query poll 1",
    "agora query polls": "agora query polls --open-at 120",
    "agora query rewards": f"agora query rewards alice {K}",
    "agora query proposals": "agora query proposals --status passed",
    "agora query proposal": "agora query proposal 1",
    "agora query team-offer": "agora query team-offer 1",
    "agora query team": "agora query team 1",
    "agora query teams": f"agora query teams --account bob {K}\n"
                         "agora query teams --listing 1     # open teams, seats left, deadline",
    "agora query campaign": "agora query campaign 1",
    "agora query campaigns": f"agora query campaigns acme {K}",
    "agora query flash-sale": "agora query flash-sale 1",
    "agora order open-delivery": f"agora order open-delivery 1 --from acme {K}\n"
                                 "# Bob, 1 Main St",
    "agora order open-tracking": f"agora order open-tracking 1 --from bob {K}\n# UPS 1Z999",
    "agora profile show": f"agora profile show bob {K}",
    "agora profile open": f"agora profile open bob --from acme {K}\n"
                          "# address  Bob, 1 Main St",
    "agora profile versions": f"agora profile versions bob {K}",
    "agora profile following": f"agora profile following alice {K}",
    "agora profile followers": f"agora profile followers acme {K}",
    "agora profile feed": f"agora profile feed alice --limit 5 {K}",
    "agora profile activity": f"agora profile activity acme {K}",
    "agora media upload": "# any PNG, JPEG, WebP or GIF; here a 1x1 GIF written byte by byte\n"
                          f"printf '{DOT_GIF}' > dot.gif\n"
                          f"agora media upload dot.gif --from acme {K}\n"
                          "# SHA256     TYPE       BYTES  FILE\n"
                          "# 6c63cc50…  image/gif  35     dot.gif",
    "agora media show": "agora media show 1",
    "agora media get": 'agora media get "$(sha256sum dot.gif | cut -c1-64)" --out copy.gif',
    "agora devnet init": "agora devnet init --validators 4 --listen-host 0.0.0.0 "
                         "--peer-hosts v0,v1,v2,v3 --home deploy/devnet",
    "agora devnet up": "agora devnet up                        # foreground; Ctrl-C stops it\n"
                       "agora devnet up --detach --base-port 28000 --home /tmp/dn",
    "agora devnet demo": "agora devnet demo",
    "agora devnet status": "agora devnet status --output json",
    "agora devnet logs": "agora devnet logs v1 --lines 5      # add --follow to keep printing "
                         "until Ctrl-C",
    "agora devnet stop": "agora devnet stop v2",
    "agora devnet start": "agora devnet start v2",
    "agora devnet add-validator": "agora devnet add-validator --name v4",
    "agora devnet remove-validator": "agora devnet remove-validator v0",
    "agora devnet rotate-key": "agora devnet rotate-key v1 --output json",
    "agora devnet down": "agora devnet down",
    "agora devnet reset": "agora devnet reset --yes",
    "agora bench state": "agora bench state --txs 20000 --accounts 1000 --block-txs 1000",
    "agora bench catch-up": "agora bench catch-up --validators 4 --txs 100000 --rate 1200",
}
# Examples the docs test does not run (their block is marked ```sh no-run): they stay in the
# foreground, start a second devnet on fixed ports, measure for minutes, or need a fifth
# validator the 4-node devnet does not run; the devnet's validator-set commands change the
# set the rest of the story runs on (tests/devnet_faults/test_reconfig.py runs them).
NO_RUN = frozenset({"agora start", "agora devnet up", "agora bench state",
                    "agora bench catch-up", "agora tx validator-propose remove",
                    "agora devnet add-validator", "agora devnet remove-validator",
                    "agora devnet rotate-key"})


def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
    """(path, command) of every visible leaf command, sorted by path."""
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield " ".join(path), command
        return
    for name in sorted(subcommands):
        sub = subcommands[name]
        if not sub.hidden:
            yield from walk(sub, [*path, name])


def command_paths() -> dict[str, Any]:
    """Every visible `agora ...` command path and its click command."""
    return dict(walk(typer.main.get_command(app), ["agora"]))


def option_names(command: Any) -> set[str]:
    """Every option spelling a command accepts (``--wait`` and ``--no-wait`` both)."""
    names: set[str] = set()
    for param in command.params:
        names.update(getattr(param, "opts", []))
        names.update(getattr(param, "secondary_opts", []))
    return {n for n in names if n.startswith("-")}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


DEFAULT_IN_HELP_RE = re.compile(r"\s*\[default: ([^\]]*)\]\.?")


def _meaning(param: Any) -> str:
    """The help text without a written-out ``[default: ...]`` (it goes in its column)."""
    return _cell(DEFAULT_IN_HELP_RE.sub("", param.help or "").strip())


def _default(param: Any) -> str:
    written = DEFAULT_IN_HELP_RE.search(param.help or "")
    if written:
        return f"`{_cell(written.group(1))}`"
    if param.required or param.default is None or param.default == "":
        return ""
    value = param.default
    if isinstance(value, bool):
        return ""
    value = getattr(value, "value", value)
    if isinstance(value, list):
        return ""
    return f"`{value}`"


def options_table(command: Any, skip: tuple[str, ...]) -> list[str]:
    rows = []
    for param in command.params:
        opts = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
        if param.param_type_name == "argument" or getattr(param, "hidden", False):
            continue
        if opts and opts[0] in skip:
            continue
        spelling = " / ".join(f"`{o}`" for o in opts)
        required = "yes" if param.required else ""
        rows.append(f"| {spelling} | {_meaning(param)} | {required} | "
                    f"{_default(param)} |")
    if not rows:
        return []
    return ["| option | meaning | required | default |", "| --- | --- | --- | --- |", *rows]


def usage(path: str, command: Any) -> str:
    parts = [path]
    for param in command.params:
        if param.param_type_name == "argument":
            name = param.name.upper()
            parts.append(name if param.required else f"[{name}]")
    parts.append("[OPTIONS]")
    return " ".join(parts)


def section(path: str, command: Any) -> str:
    if path not in EXAMPLES:
        raise SystemExit(f"no example for {path}: add one to EXAMPLES")
    help_text = (command.help or "").strip()
    lines = [f"### {path}", "", help_text, "", f"Usage: `{usage(path, command)}`", ""]
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    for param in arguments:
        lines.append(f"- `{param.name.upper()}`: {_cell(getattr(param, 'help', '') or '')}")
    if arguments:
        lines.append("")
    is_tx = path.startswith("agora tx ")
    table = options_table(command, TX_SHARED if is_tx else CONVENTIONS)
    if table:
        lines += table + [""]
    if is_tx:
        lines += ["Plus the [shared transaction options](#agora-tx-shared-options).", ""]
    fence = "```sh no-run" if path in NO_RUN else "```sh"
    lines += ["Example:", "", fence, EXAMPLES[path], "```", ""]
    return "\n".join(lines)


def tx_shared_table() -> str:
    command = command_paths()["agora tx transfer"]
    rows = ["| option | meaning | default |", "| --- | --- | --- |"]
    for param in command.params:
        opts = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
        if opts and opts[0] in TX_SHARED:
            spelling = " / ".join(f"`{o}`" for o in opts)
            rows.append(f"| {spelling} | {_meaning(param)} | {_default(param)} |")
    return "\n".join(rows)


def render() -> str:
    groups = [("agora init", "agora start", "Node"), ("agora keys ", None, "Keys"),
              ("agora media ", None, "Listing media"), ("agora tx ", None, "Transactions"),
              ("agora query ", None, "Queries"), ("agora order ", None, "Orders"),
              ("agora profile ", None, "Profiles and feeds"),
              ("agora devnet ", None, "Devnet"), ("agora bench ", None, "Benchmarks")]
    paths = command_paths()
    story = list(EXAMPLES)
    out: list[str] = []
    done: set[str] = set()
    for first, second, title in groups:
        chosen = sorted((p for p in paths if p in (first, second) or
                         (second is None and p.startswith(first))),
                        key=lambda p: (story.index(p) if p in story else len(story), p))
        out.append(f"## {title}\n")
        if title == "Transactions":
            out.append("Every `agora tx <type>` builds the transaction, signs it with the key "
                       "named by `--from`, submits it with `tx_submit` and (by default) waits "
                       "until it is finalized, then prints its id, status, height and events, "
                       "plus the new record's id where it creates one (`listing`, `order`, "
                       "`comment`, `poll`, `share` and the referral link). The transaction "
                       "type names with underscores (`agora tx order_ship`) work too.\n")
            out.append("<a id=\"agora-tx-shared-options\"></a>\nShared transaction "
                       "options:\n\n" + tx_shared_table() + "\n")
        for path in chosen:
            out.append(section(path, paths[path]))
            done.add(path)
    missing = set(paths) - done
    assert not missing, f"command paths outside every group: {sorted(missing)}"
    return "\n".join(out)


def main() -> None:
    text = CLI_DOC.read_text()
    start, end = "<!-- generated:commands -->", "<!-- /generated:commands -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    assert pattern.search(text), "docs/CLI.md has no generated:commands region"
    text = pattern.sub(lambda _: f"{start}\n\n{render().rstrip()}\n\n{end}", text)
    CLI_DOC.write_text(text)
    print(f"wrote {CLI_DOC} ({len(command_paths())} commands)")


if __name__ == "__main__":
    main()
