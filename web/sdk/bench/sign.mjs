// The SDK's signing rate in Node.js: transfers, and purchases with sealed delivery details,
// signed (canonical encoding, Ed25519, id) one after another on one core; `signTx` signs
// with @noble/curves, `signTxAsync` with the platform's WebCrypto (the Wallet's way).
//   npm run bench -w @agora/sdk            (AGORA_BENCH_TXS=N to change the count)
import { Keypair, seal, signTx, signTxAsync, utf8 } from "@agora/sdk";

const count = Number(process.env.AGORA_BENCH_TXS ?? 2000);
const keypair = Keypair.fromSeedHex("11".repeat(32));
const merchant = Keypair.fromSeedHex("22".repeat(32));
const to = merchant.address;

async function rate(label, build) {
  for (let i = 0; i < 200; i++) await build(i); // warm-up: the JIT, noble's tables, the key
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await build(i);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${label}: ${Math.round(count / seconds)} tx/s (${count} in ${seconds.toFixed(2)} s)`);
}

await rate("transfer signed (signTx, @noble/curves)", (nonce) =>
  signTx(keypair, "agora-bench", nonce, { type: "transfer", to, amount: 1_000_000 + nonce }));
await rate("transfer signed (signTxAsync, WebCrypto)", (nonce) =>
  signTxAsync(keypair, "agora-bench", nonce, { type: "transfer", to, amount: 1_000_000 + nonce }));
await rate("purchase sealed and signed (WebCrypto)", (nonce) =>
  signTxAsync(keypair, "agora-bench", nonce, {
    type: "purchase", listing: 1, version: 1, quantity: 1,
    delivery: seal(merchant.publicKey, utf8("Bob Builder, 12 Harbour Road")),
  }));
