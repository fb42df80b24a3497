"""deploy/docker-compose.yml and deploy/agora.service are well-formed and agree with the
devnet layout (ports, homes, commands). Method: parse the compose file with a small
YAML-subset loader and the unit with configparser; no Docker or systemd is needed."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest

from devnet.layout import DEFAULT_BASE_PORT, node_ports
from tests.devnet.yaml_subset import load_yaml_subset

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_yaml_subset_loader_reads_anchors_merges_and_block_scalars() -> None:
    text = "x: &base\n  a: 1\n  b: |\n    one\n    two\ny:\n  <<: *base\n  a: 2\n  l:\n    - 'q'\n"
    assert load_yaml_subset(text) == {
        "x": {"a": 1, "b": "one\ntwo\n"},
        "y": {"a": 2, "b": "one\ntwo\n", "l": ["q"]},
    }


@pytest.mark.parametrize("bad", ["a: 1\n  b: 2\n", "a 1\n", "a: 1\na: 2\n", "a: *nope\n"])
def test_yaml_subset_loader_refuses_malformed_input(bad: str) -> None:
    with pytest.raises((ValueError, KeyError)):
        load_yaml_subset(bad)


def test_docker_compose_runs_four_validators_on_the_devnet_ports() -> None:
    compose = load_yaml_subset((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert sorted(services) == ["v0", "v1", "v2", "v3"]
    for index in range(4):
        service = services[f"v{index}"]
        rpc_port, _ = node_ports(DEFAULT_BASE_PORT, index)
        assert service["volumes"] == [f"./homes/nodes/v{index}:/home/agora/node"]
        assert service["ports"] == [f"127.0.0.1:{rpc_port}:{rpc_port}"]
        assert service["environment"]["AGORA_RPC_PORT"] == str(rpc_port)
        assert service["image"] == "agora-node:local"
        assert service["stop_signal"] == "SIGTERM"
        assert service["healthcheck"]["test"][0] == "CMD"
        dockerfile = service["build"]["dockerfile_inline"]
        assert dockerfile.startswith("FROM python:3.11")
        entrypoint = dockerfile.strip().splitlines()[-1].removeprefix("ENTRYPOINT ")
        assert json.loads(entrypoint) == ["agora", "start", "--home", "/home/agora/node"]
        for package in ("cli", "commerce", "consensus", "devnet", "node", "p2p"):
            assert f"COPY {package} /src/{package}" in dockerfile


def test_systemd_unit_starts_agora_and_stops_it_with_sigterm() -> None:
    unit = configparser.ConfigParser(strict=True, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((DEPLOY / "agora.service").read_text())
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    command = service["ExecStart"].split()
    assert command[0].endswith("/agora")
    assert command[1:4] == ["start", "--home", "/var/lib/agora"]
    assert service["KillSignal"] == "SIGTERM"
    assert service["Restart"] == "on-failure"
    assert service["ReadWritePaths"] == "/var/lib/agora"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
