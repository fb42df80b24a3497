"""`agora tx validator-propose add|remove|rotate-key|set-param`, `agora tx validator-vote`
and `agora tx validator-withdraw`: governance transactions (docs/GOVERNANCE.md).

Each command parses its options, resolves names through the node or the keyring, and
builds one body; `cli.tx` signs and submits it like every `agora tx` command. A validator
signs with its consensus key (`agora keys import NAME --from-node-key`).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

import typer

from cli.chain_client import build_and_send, signer_options
from cli.common import command_with, fail, subcommands
from cli.keys import open_keyring
from cli.tx import TX_OPTIONS, Builder, Common, app, build_body, render_result, tx_command
from commerce.governance import (
    ValidatorPropose,
    ValidatorVote,
    ValidatorWithdraw,
    rotation_message,
)
from commerce.tx import TxBody

propose_app = subcommands(
    "validator-propose",
    "Propose a change of the validator set or of a chain parameter (validators).")
app.add_typer(propose_app, name="validator-propose")

KEY_HEX_RE = re.compile(r"^[0-9a-fA-F]{64}$")


class Vote(StrEnum):
    """A validator's vote on a proposal."""

    yes = "yes"
    no = "no"


def _describe_proposal(result: dict[str, Any], opts: Common) -> dict[str, Any]:
    """The new proposal's id, and how it closed if the proposer's own vote decided it."""
    extra: dict[str, Any] = {}
    for event in result.get("events") or []:
        data = event.get("data") or []
        if event.get("kind") == "validator_propose" and data:
            extra["proposal"] = data[0]
        if event.get("kind") == "proposal_closed" and len(data) >= 3:
            extra["proposal_status"] = data[1]
            if data[2]:
                extra["activation_height"] = data[2]
    return extra


def _describe_vote(result: dict[str, Any], opts: Common) -> dict[str, Any]:
    """The tally after the vote, and the outcome when it decided the proposal."""
    extra: dict[str, Any] = {}
    for event in result.get("events") or []:
        data = event.get("data") or []
        if event.get("kind") == "validator_vote" and len(data) == 4:
            extra["yes"], extra["no"] = data[2], data[3]
        if event.get("kind") == "proposal_closed" and len(data) >= 3:
            extra["proposal_status"] = data[1]
            if data[2]:
                extra["activation_height"] = data[2]
    return extra


def propose_command(name: str) -> Any:
    """Register `build(opts, *, <its options>) -> TxBody` as `agora tx validator-propose
    <name>`, with the shared transaction options (as `cli.tx.tx_command` does)."""

    def decorate(build: Builder) -> Builder:
        def run(opts: Common, **options: Any) -> None:
            body = build_body(build, opts, options)
            tx, result = build_and_send(opts.url, opts.signer, body, wait=opts.wait,
                                        dry_run=opts.dry_run, nonce=opts.nonce)
            extra = _describe_proposal(result, opts) if not opts.dry_run else {}
            render_result(tx, result, opts.output, opts.dry_run, extra)

        propose_app.command(name)(command_with(run, TX_OPTIONS, Common, like=build))
        return build

    return decorate


def _public_key(opts: Common, text: str) -> bytes:
    """A public key typed as 64 hex characters or as the name of a key in the keyring."""
    if KEY_HEX_RE.match(text):
        return bytes.fromhex(text)
    keyring = open_keyring(opts.keyring_dir, opts.home, opts.keyring_backend)
    return bytes.fromhex(keyring.show(text).public_key)


def _validator_key(opts: Common, text: str) -> bytes:
    """The consensus key of a validator of the next block's set, by name or key hex."""
    validators = opts.call("chain_getValidators")
    for validator in validators:
        if text in (validator["name"], validator["public_key"]):
            return bytes.fromhex(str(validator["public_key"]))
    names = ", ".join(str(v["name"]) for v in validators)
    fail("not_in_set", f"--validator {text} is not a validator (the set: {names})")


@propose_command("add")
def propose_add(
    opts: Common, *,
    name: Annotated[str, typer.Option(help="The new validator's name (letters, digits, . _ -).")],
    key: Annotated[str, typer.Option(
        help="Its consensus public key: 64 hex characters (its node_key.json's public key) "
             "or a key name in the keyring.")],
    p2p_address: Annotated[str, typer.Option(
        "--p2p-address", help="Where its node listens for peers, host:port.")],
    merchant: Annotated[str | None, typer.Option(
        help="The approved merchant it belongs to: address or key name.")] = None,
) -> TxBody:
    """Propose a new validator; it joins at the end of the primary rotation order."""
    return ValidatorPropose(kind="add", key=_public_key(opts, key), name=name,
                            p2p_address=p2p_address,
                            merchant=b"" if merchant is None else opts.address(merchant))


@propose_command("remove")
def propose_remove(
    opts: Common, *,
    validator: Annotated[str, typer.Option(
        help="The validator to remove: its name or consensus public key (hex).")],
) -> TxBody:
    """Propose removing a validator (the set never shrinks below 4)."""
    return ValidatorPropose(kind="remove", key=_validator_key(opts, validator))


@propose_command("rotate-key")
def propose_rotate_key(
    opts: Common, *,
    new_key: Annotated[str, typer.Option(
        "--new-key", help="The replacement key's name in the keyring: it signs its consent.")],
) -> TxBody:
    """Propose replacing the sender's own consensus key (--from is the old key)."""
    new = signer_options(new_key, opts.keyring_dir, opts.keyring_backend, opts.home,
                         opts.passphrase_file).keypair()
    old = opts.signer.keypair()
    chain_id = str(opts.call("node_status")["chain_id"])
    signature = new.sign(rotation_message(chain_id, old.public_key, new.public_key))
    return ValidatorPropose(kind="rotate_key", key=new.public_key, signature=signature)


@propose_command("set-param")
def propose_set_param(
    opts: Common, *,
    param: Annotated[str, typer.Option(help="The chain parameter (docs/GOVERNANCE.md).")],
    value: Annotated[int, typer.Option(min=0, help="Its new value (an integer).")],
) -> TxBody:
    """Propose a new value for a chain parameter."""
    return ValidatorPropose(kind="set_param", param=param, value=value)


@tx_command("validator-vote", _describe_vote)
def validator_vote(
    opts: Common, *,
    proposal: Annotated[int, typer.Option(min=1, help="Proposal id.")],
    vote: Annotated[Vote, typer.Option(help="yes or no.")],
) -> TxBody:
    """A validator's vote on a governance proposal."""
    return ValidatorVote(proposal=proposal, vote="yes" if vote is Vote.yes else "no")


@tx_command("validator-withdraw")
def validator_withdraw(
    opts: Common, *,
    proposal: Annotated[int, typer.Option(min=1, help="Proposal id.")],
) -> TxBody:
    """Withdraw an open proposal of yours."""
    return ValidatorWithdraw(proposal=proposal)
