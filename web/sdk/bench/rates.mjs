// The signing-rate measurements shared by `sign.mjs` (Node.js) and `chromium.html` (the
// browser): transfers, and purchases with sealed delivery details, signed (canonical encoding,
// Ed25519, id) one after another on one core; `signTx` signs with @noble/curves,
// `signTxAsync` with the platform's WebCrypto (the Wallet's way).
import { Keypair, seal, signTx, signTxAsync, utf8 } from "@agora/sdk";

const keypair = Keypair.fromSeedHex("11".repeat(32));
const merchant = Keypair.fromSeedHex("22".repeat(32));
const to = merchant.address;

async function rate(count, label, build) {
  for (let i = 0; i < 200; i++) await build(i); // warm-up: the JIT, noble's tables, the key
  const started = performance.now();
  for (let i = 0; i < count; i++) await build(i);
  const seconds = (performance.now() - started) / 1000;
  return `${label}: ${Math.round(count / seconds)} tx/s (${count} in ${seconds.toFixed(2)} s)`;
}

/** Measure `count` signings of each kind; `report` receives one line per measurement. */
export async function measureRates(count, report) {
  report(await rate(count, "transfer signed (signTx, @noble/curves)", (nonce) =>
    signTx(keypair, "agora-bench", nonce, { type: "transfer", to, amount: 1_000_000 + nonce })));
  report(await rate(count, "transfer signed (signTxAsync, WebCrypto)", (nonce) =>
    signTxAsync(keypair, "agora-bench", nonce,
                { type: "transfer", to, amount: 1_000_000 + nonce })));
  report(await rate(count, "purchase sealed and signed (WebCrypto)", (nonce) =>
    signTxAsync(keypair, "agora-bench", nonce, {
      type: "purchase", listing: 1, version: 1, quantity: 1,
      delivery: seal(merchant.publicKey, utf8("Bob Builder, 12 Harbour Road")),
    })));
}

/** Whether this platform's WebCrypto verifies Ed25519 ("yes" or "no"). */
export function webCryptoEd25519() {
  return crypto.subtle.importKey("raw", merchant.publicKey, { name: "Ed25519" }, false,
                                 ["verify"]).then(() => "yes", () => "no");
}
