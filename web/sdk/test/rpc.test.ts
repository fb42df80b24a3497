/**
 * The RPC client, the WebSocket subscriptions and the Wallet against a small JSON-RPC server
 * on loopback that answers as docs/RPC.md says the node does (the real node is exercised by
 * tests/client/test_sdk_ts_doc.py).
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import {
  Keypair, RpcCallError, RpcClient, RpcClientError, RpcTransportError, Wallet, decodeTx,
  websocketUrl, type WebSocketFactory,
} from "../src/index.js";

type Handler = (method: string, params: Record<string, unknown>) => unknown;

interface Fixture {
  url: string;
  server: Server;
  sockets: WebSocketServer;
  calls: { method: string; params: Record<string, unknown> }[];
  handler: Handler;
}

const fixture = {} as Fixture;

function answer(request: { id?: unknown; method: string; params?: Record<string, unknown> }) {
  fixture.calls.push({ method: request.method, params: request.params ?? {} });
  try {
    return { jsonrpc: "2.0", id: request.id, result: fixture.handler(request.method,
                                                                     request.params ?? {}) };
  } catch (error) {
    return { jsonrpc: "2.0", id: request.id, error: error as object };
  }
}

async function body(request: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of request) text += chunk;
  return text;
}

before(async () => {
  fixture.calls = [];
  fixture.server = createServer(async (request, response) => {
    const text = await body(request);
    if (request.url === "/not-json") {
      response.writeHead(502).end("<html>bad gateway</html>");
      return;
    }
    if (request.url === "/slow") return; // never answers
    const message = JSON.parse(text);
    if (Array.isArray(message)) {
      response.writeHead(200, { "Content-Type": "application/json" })
        .end(JSON.stringify(message.map(answer).reverse()));
    } else if (message.id === undefined) {
      answer(message);
      response.writeHead(204).end();
    } else {
      response.writeHead(200, { "Content-Type": "application/json" })
        .end(JSON.stringify(answer(message)));
    }
  });
  fixture.sockets = new WebSocketServer({ server: fixture.server, path: "/ws" });
  fixture.sockets.on("connection", (socket) => {
    socket.on("message", (data) => {
      const request = JSON.parse(String(data));
      if (request.method === "subscribe") {
        const id = `0x${fixture.calls.length.toString(16).padStart(16, "0")}`;
        fixture.calls.push({ method: "subscribe", params: request.params });
        // A notification that beats the subscribe answer, as can happen on a busy node.
        socket.send(JSON.stringify({ jsonrpc: "2.0", method: "subscription",
                                     params: { subscription: id, result: { height: 1 } } }));
        socket.send(JSON.stringify({ jsonrpc: "2.0", id: request.id, result: id }));
        for (const height of [2, 3]) {
          socket.send(JSON.stringify({ jsonrpc: "2.0", method: "subscription",
                                       params: { subscription: id, result: { height } } }));
        }
        return;
      }
      if (request.method === "hang_up") {
        socket.close(1008, "slow_client");
        return;
      }
      socket.send(JSON.stringify(answer(request)));
    });
  });
  await new Promise<void>((resolve) => fixture.server.listen(0, "127.0.0.1", resolve));
  fixture.url = `http://127.0.0.1:${(fixture.server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const client of fixture.sockets.clients) client.terminate();
  fixture.sockets.close();
  fixture.server.closeAllConnections();
  await new Promise((resolve) => fixture.server.close(resolve));
});

describe("RpcClient over HTTP", () => {
  test("a result comes back typed; params without undefined values", async () => {
    fixture.handler = (method) => ({ chain_id: "agora-test", height: 7, method });
    const node = new RpcClient(fixture.url);
    const status = await node.status();
    assert.equal(status.chain_id, "agora-test");
    await node.listing(3);
    assert.deepEqual(fixture.calls.at(-1), { method: "state_getListing", params: { id: 3 } });
  });
  test("an error answer is an RpcCallError with the node's reason, code and data", async () => {
    fixture.handler = () => {
      throw { code: -32027, message: "listing 3 has 0 in stock, 1 asked",
              data: { reason: "out_of_stock" } };
    };
    const node = new RpcClient(fixture.url);
    const error = await node.listing(3).then(() => null, (caught: unknown) => caught);
    assert.ok(error instanceof RpcCallError && error instanceof RpcClientError);
    assert.equal(error.reason, "out_of_stock");
    assert.equal(error.code, -32027);
    assert.equal(error.detail, "listing 3 has 0 in stock, 1 asked");
    assert.equal(error.message, "out_of_stock: listing 3 has 0 in stock, 1 asked");
  });
  test("a batch answers in call order, errors in place", async () => {
    fixture.handler = (method, params) => {
      if (params.id === 2) throw { code: -32058, message: "no such", data: { reason: "not_found" } };
      return { method, id: params.id };
    };
    const node = new RpcClient(fixture.url);
    const results = await node.batch([["state_getOrder", { id: 1 }],
                                      ["state_getOrder", { id: 2 }],
                                      ["state_getOrder", { id: 3 }]]);
    assert.deepEqual(results[0], { method: "state_getOrder", id: 1 });
    assert.ok(results[1] instanceof RpcCallError && results[1].reason === "not_found");
    assert.deepEqual(results[2], { method: "state_getOrder", id: 3 });
    assert.deepEqual(await node.batch([]), []);
  });
  test("a notification gets no answer (HTTP 204)", async () => {
    fixture.handler = () => true;
    await new RpcClient(fixture.url).notify("node_status");
    assert.equal(fixture.calls.at(-1)?.method, "node_status");
  });
  test("no server, a non-JSON answer and a timeout are RpcTransportErrors", async () => {
    const closed = new RpcClient("http://127.0.0.1:9/");
    await assert.rejects(closed.status(), (error: unknown) =>
      error instanceof RpcTransportError && /cannot reach/.test(error.message)
        && !error.timedOut && error.reason === "");
    await assert.rejects(new RpcClient(`${fixture.url}/not-json`).status(), (error: unknown) =>
      error instanceof RpcTransportError && /HTTP 502 .* is not JSON/.test(error.message));
    const started = Date.now();
    await assert.rejects(new RpcClient(`${fixture.url}/slow`, { timeoutMs: 200 }).status(),
      (error: unknown) => error instanceof RpcTransportError && error.timedOut);
    assert.ok(Date.now() - started < 2000);
  });
  test("waitForTransaction polls through not_found and pending until finalized", async () => {
    let asked = 0;
    fixture.handler = (_method, params) => {
      asked += 1;
      if (asked === 1) throw { code: -32058, message: "unknown", data: { reason: "not_found" } };
      if (asked === 2) return { status: "pending", tx: { id: params.id } };
      return { status: "finalized", height: 4, index: 0, tx: { id: params.id }, events: [] };
    };
    const node = new RpcClient(fixture.url);
    const found = await node.waitForTransaction("ab".repeat(32), { intervalMs: 10 });
    assert.equal(found.height, 4);
    assert.equal(asked, 3);
    fixture.handler = (_method, params) => ({ status: "pending", tx: { id: params.id } });
    await assert.rejects(node.waitForTransaction("cd".repeat(32),
                                                 { timeoutMs: 100, intervalMs: 20 }),
      (error: unknown) => error instanceof RpcTransportError && error.timedOut
        && /not finalized within 100 ms \(pending\)/.test(error.message));
    fixture.handler = () => { throw { code: -32602, message: "bad id",
                                      data: { reason: "invalid_params" } }; };
    await assert.rejects(node.waitForTransaction("zz"), (error: unknown) =>
      error instanceof RpcCallError && error.reason === "invalid_params");
  });
  test("the WebSocket address sits beside the HTTP one", () => {
    assert.equal(websocketUrl("http://127.0.0.1:26657"), "ws://127.0.0.1:26657/ws");
    assert.equal(websocketUrl("https://node.example/rpc/"), "wss://node.example/rpc/ws");
  });
});

describe("RpcWebSocket subscriptions", () => {
  const options = { WebSocket: WebSocket as unknown as WebSocketFactory, timeoutMs: 2000 };
  test("notifications arrive in order, also one that beat the subscribe answer", async () => {
    const socket = await new RpcClient(fixture.url, options).websocket();
    const blocks = await socket.subscribe("newBlocks");
    assert.deepEqual([(await blocks.next(1000)).height, (await blocks.next(1000)).height,
                      (await blocks.next(1000)).height], [1, 2, 3]);
    await assert.rejects(blocks.next(50), (error: unknown) =>
      error instanceof RpcTransportError && error.timedOut);
    fixture.handler = () => true;
    assert.equal(await socket.call("unsubscribe", { subscription: blocks.id }), true);
    socket.close();
    assert.ok(socket.closed);
  });
  test("a socket the server closes ends its subscriptions and fails its calls", async () => {
    const socket = await new RpcClient(fixture.url, options).websocket();
    const updates = await socket.subscribe("account", { address: "agora1x" });
    assert.deepEqual(fixture.calls.at(-1)?.params, { topic: "account", address: "agora1x" });
    await assert.rejects(socket.call("hang_up"), RpcTransportError);
    const seen: number[] = [];
    for await (const item of updates) seen.push(item.height);
    assert.deepEqual(seen, [1, 2, 3], "what arrived before the close is still read");
    assert.equal(socket.closeCode, 1008);
    await assert.rejects(socket.call("node_status"), /closed/);
  });
  test("RpcClient.subscribe opens a socket of its own, closed by unsubscribe", async () => {
    fixture.handler = () => true;
    const txs = await new RpcClient(fixture.url, options).subscribe("tx", { id: "ab" });
    assert.equal((await txs.next(1000)).height, 1);
    assert.ok(txs.ownsSocket && !txs.socket.closed);
    assert.equal(await txs.unsubscribe(), true);
    assert.ok(txs.socket.closed);
    await assert.rejects(txs.next(), RpcTransportError, "an ended subscription reads nothing");
  });
  test("a WebSocket that cannot open is an RpcTransportError", async () => {
    await assert.rejects(new RpcClient("http://127.0.0.1:9", options).websocket(),
                         RpcTransportError);
  });
});

describe("Wallet", () => {
  const chain = { nonce: 5, submitted: [] as string[] };
  before(() => {
    fixture.handler = (method, params) => {
      if (method === "node_status") return { chain_id: "agora-wallet" };
      if (method === "state_getAccount") {
        return { address: params.address, balance: 0, nonce: 5, pending_nonce: chain.nonce };
      }
      if (method === "tx_submit") {
        const tx = decodeTx(String(params.tx));
        if (tx.body.type === "order_confirm") {
          throw { code: -32060, message: "not finalized within 100 ms",
                  data: { reason: "timeout", id: tx.idHex, status: "pending" } };
        }
        if (Number(tx.nonce) !== chain.nonce) {
          throw { code: -32012, message: "bad nonce", data: { reason: "bad_nonce" } };
        }
        chain.nonce += 1;
        chain.submitted.push(tx.body.type);
        return { id: tx.idHex, status: params.wait === "finalized" ? "finalized" : "admitted",
                 height: 9, index: 0,
                 events: [{ kind: tx.body.type, addresses: [], data: [42, 1], fields: {} }] };
      }
      if (method === "tx_simulate") {
        return { id: decodeTx(String(params.tx)).idHex, ok: true, events: [] };
      }
      throw { code: -32601, message: "no such method", data: { reason: "method_not_found" } };
    };
  });
  test("reads the chain id and nonce once, then counts admitted transactions", async () => {
    const wallet = new Wallet(new RpcClient(fixture.url), Keypair.generate());
    fixture.calls.length = 0;
    const first = await wallet.submit({ type: "listing_delist", listing: 42 });
    assert.ok(first.finalized);
    assert.equal(first.createdId, 42);
    assert.equal(first.ofKind("listing_delist").length, 1);
    const second = await wallet.submit({ type: "share", listing: 42 }, { wait: false });
    assert.equal(second.status, "admitted");
    assert.equal(await wallet.nextNonce(), 7n);
    const reads = fixture.calls.filter((call) =>
      call.method === "node_status" || call.method === "state_getAccount");
    assert.equal(reads.length, 2, "one status and one account read for two transactions");
    const simulated = await wallet.simulate({ type: "reward_claim" });
    assert.equal(simulated.status, "simulated");
    assert.equal(await wallet.nextNonce(), 7n, "a simulation takes no nonce");
  });
  test("a timeout takes the nonce; a refusal does not", async () => {
    const wallet = new Wallet(new RpcClient(fixture.url), Keypair.generate(),
                              { chainId: "agora-wallet", nonce: chain.nonce });
    await assert.rejects(wallet.submit({ type: "order_confirm", order: 1 }),
      (error: unknown) => error instanceof RpcCallError && error.reason === "timeout");
    assert.equal(await wallet.nextNonce(), BigInt(chain.nonce + 1));
    await assert.rejects(wallet.submit({ type: "share", listing: 1 }),
      (error: unknown) => error instanceof RpcCallError && error.reason === "bad_nonce");
    assert.equal(await wallet.nextNonce(), BigInt(chain.nonce + 1));
    wallet.resetNonce();
    assert.equal(await wallet.nextNonce(), BigInt(chain.nonce), "read again from the node");
  });
});
