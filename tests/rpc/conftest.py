"""Fixtures for the RPC tests: a registry with the specification's example methods plus a few
that fail on purpose, served by aiohttp's TestServer on a loopback port."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel, Field

from commerce.errors import ErrorCode, ValidationError
from node.errors import NodeError, NodeErrorCode
from node.metrics import NodeMetrics
from node.rpc import Example, NoParams, Registry, RpcLimits, SubscriptionHub, create_app
from node.rpc.routes import HealthChecks


class SubtractParams(BaseModel):
    minuend: int = Field(description="the number to subtract from")
    subtrahend: int


class SumParams(BaseModel):
    a: int
    b: int
    c: int = 0


class UpdateParams(BaseModel):
    a: int
    b: int
    c: int
    d: int
    e: int


class HelloParams(BaseModel):
    value: int


class Point(BaseModel):
    x: int
    y: int


class ShapeParams(BaseModel):
    name: str = Field(max_length=16)
    corner: Point
    mode: str = "none"


class SleepParams(BaseModel):
    seconds: float


@dataclass
class Calls:
    """What the notification methods were called with."""

    updates: list[UpdateParams]
    hellos: list[int]


def make_registry(calls: Calls) -> Registry:
    registry = Registry()

    @registry.method("subtract", SubtractParams, examples=[
        Example("forty-two minus twenty-three", {"minuend": 42, "subtrahend": 23}, 19)])
    async def subtract(params: SubtractParams) -> int:
        """Subtract subtrahend from minuend."""
        return params.minuend - params.subtrahend

    @registry.method("sum", SumParams)
    async def sum_(params: SumParams) -> int:
        return params.a + params.b + params.c

    @registry.method("update", UpdateParams)
    async def update(params: UpdateParams) -> None:
        calls.updates.append(params)

    @registry.method("notify_hello", HelloParams)
    async def notify_hello(params: HelloParams) -> None:
        calls.hellos.append(params.value)

    @registry.method("get_data")
    async def get_data(params: NoParams) -> list[Any]:
        return ["hello", 5]

    @registry.method("shape", ShapeParams, result=Point)
    async def shape(params: ShapeParams) -> Point:
        return params.corner

    @registry.method("fail_commerce", NoParams)
    async def fail_commerce(params: NoParams) -> None:
        raise ValidationError(ErrorCode.BAD_NONCE, "nonce 3 is not the next one (5)")

    @registry.method("fail_node", NoParams)
    async def fail_node(params: NoParams) -> None:
        raise NodeError(NodeErrorCode.MEMPOOL_FULL, "the mempool holds 50000 transactions")

    @registry.method("crash", NoParams)
    async def crash(params: NoParams) -> None:
        raise KeyError("secret internal detail")

    @registry.method("unencodable", NoParams)
    async def unencodable(params: NoParams) -> object:
        return object()

    @registry.method("sleep", SleepParams, timeout_s=0.2)
    async def sleep(params: SleepParams) -> bool:
        await asyncio.sleep(params.seconds)
        return True

    return registry


@dataclass
class Rpc:
    """A served test application and the objects behind it."""

    client: TestClient[web.Request, web.Application]
    hub: SubscriptionHub
    metrics: NodeMetrics
    calls: Calls
    limits: RpcLimits

    @property
    def url(self) -> str:
        return str(self.client.make_url("/"))

    async def post(self, body: str | bytes, **headers: str) -> tuple[int, Any]:
        """POST a raw body; the status and the decoded JSON (None for no body)."""
        response = await self.client.post("/", data=body, headers=headers)
        text = await response.text()
        return response.status, (json.loads(text) if text else None)


MakeRpc = Callable[..., Awaitable[Rpc]]


@pytest.fixture
async def make_rpc() -> AsyncIterator[MakeRpc]:
    clients: list[TestClient[web.Request, web.Application]] = []

    async def make(
        *, limits: RpcLimits | None = None, cors_origins: tuple[str, ...] = (),
        health_checks: HealthChecks | None = None,
    ) -> Rpc:
        limits = limits or RpcLimits()
        calls = Calls(updates=[], hellos=[])
        metrics = NodeMetrics()
        hub = SubscriptionHub(limits, metrics)
        app = create_app(make_registry(calls), hub, health_checks, metrics,
                         cors_origins=cors_origins, limits=limits)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return Rpc(client=client, hub=hub, metrics=metrics, calls=calls, limits=limits)

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def rpc(make_rpc: MakeRpc) -> Rpc:
    return await make_rpc()
