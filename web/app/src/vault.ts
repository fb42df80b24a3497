/**
 * The browser wallet's key: made or imported here, never sent anywhere. Stored in
 * localStorage encrypted with the user's passphrase: PBKDF2-SHA-256 (600,000 rounds, a
 * random 16-byte salt) derives an AES-256-GCM key that seals the 32-byte seed, with the
 * address as associated data. An unlocked key lives in this page's memory only.
 */
import { Keypair, fromHex, isAddress, toHex } from "@agora/sdk";

import { createStore } from "./store";

export const VAULT_KEY = "agora.wallet.v1";
export const PBKDF2_ROUNDS = 600_000;
export const MIN_PASSPHRASE_CHARS = 8;
const SALT_BYTES = 16;
const IV_BYTES = 12;

export interface Vault {
  readonly version: 1;
  readonly address: string;
  readonly publicKey: string;
  readonly salt: string;
  readonly iv: string;
  readonly ciphertext: string;
  readonly rounds: number;
}

/** Why a vault operation failed, as an i18n key. */
export class VaultError extends Error {
  constructor(
    readonly key:
      "wrongPassphrase" | "passphraseShort" | "passphraseMismatch" | "badSeed" | "vaultDamaged",
  ) {
    super(key);
  }
}

function loadVault(): Vault | null {
  try {
    const text = localStorage.getItem(VAULT_KEY);
    if (text === null) return null;
    const vault = JSON.parse(text) as Vault;
    if (vault.version !== 1 || !isAddress(vault.address)) return null;
    return vault;
  } catch {
    return null;
  }
}

export const vault = createStore<Vault | null>(loadVault());
export const unlocked = createStore<Keypair | null>(null);

addEventListener("storage", (event) => {
  if (event.key === VAULT_KEY) {
    vault.set(loadVault());
    unlocked.set(null);
  }
});

async function aesKey(passphrase: string, salt: Uint8Array, rounds: number): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(passphrase),
    "PBKDF2",
    false,
    ["deriveKey"],
  );
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations: rounds },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function checkNew(passphrase: string, repeat: string): void {
  if ([...passphrase].length < MIN_PASSPHRASE_CHARS) throw new VaultError("passphraseShort");
  if (passphrase !== repeat) throw new VaultError("passphraseMismatch");
}

async function store(keypair: Keypair, passphrase: string): Promise<Keypair> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const key = await aesKey(passphrase, salt, PBKDF2_ROUNDS);
  const sealed = await crypto.subtle.encrypt(
    {
      name: "AES-GCM",
      iv: iv as BufferSource,
      additionalData: new TextEncoder().encode(keypair.address),
    },
    key,
    keypair.seed as BufferSource,
  );
  const saved: Vault = {
    version: 1,
    address: keypair.address,
    publicKey: keypair.publicKeyHex,
    salt: toHex(salt),
    iv: toHex(iv),
    ciphertext: toHex(new Uint8Array(sealed)),
    rounds: PBKDF2_ROUNDS,
  };
  localStorage.setItem(VAULT_KEY, JSON.stringify(saved));
  vault.set(saved);
  unlocked.set(keypair);
  return keypair;
}

/** A new random key, stored under `passphrase` and unlocked. */
export async function createWallet(passphrase: string, repeat: string): Promise<Keypair> {
  checkNew(passphrase, repeat);
  return store(Keypair.generate(), passphrase);
}

/** A key from its 64-hex seed (what `agora keys export` prints), stored and unlocked. */
export async function importWallet(
  seedHex: string,
  passphrase: string,
  repeat: string,
): Promise<Keypair> {
  let keypair: Keypair;
  try {
    keypair = Keypair.fromSeedHex(seedHex.trim());
  } catch {
    throw new VaultError("badSeed");
  }
  checkNew(passphrase, repeat);
  return store(keypair, passphrase);
}

/** Open the stored key; VaultError(wrongPassphrase) when the passphrase is not its own. */
export async function unlock(passphrase: string): Promise<Keypair> {
  const saved = vault.get();
  if (saved === null) throw new VaultError("vaultDamaged");
  let seed: ArrayBuffer;
  try {
    const key = await aesKey(passphrase, fromHex(saved.salt), saved.rounds);
    seed = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: fromHex(saved.iv) as BufferSource,
        additionalData: new TextEncoder().encode(saved.address),
      },
      key,
      fromHex(saved.ciphertext) as BufferSource,
    );
  } catch {
    throw new VaultError("wrongPassphrase");
  }
  const keypair = Keypair.fromSeed(new Uint8Array(seed));
  if (keypair.address !== saved.address) throw new VaultError("vaultDamaged");
  unlocked.set(keypair);
  return keypair;
}

export function lock(): void {
  unlocked.set(null);
}

/** Delete the stored key from this browser (after the user confirmed it). */
export function forget(): void {
  localStorage.removeItem(VAULT_KEY);
  vault.set(null);
  unlocked.set(null);
}
