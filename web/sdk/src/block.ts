/**
 * Blocks and commit certificates (commerce/block.py, consensus/messages.py): the header's
 * hash, the transaction root, and the decoding and checking of the commit certificate the
 * node serves beside each block (`chain_getBlock`, `chain_getCertificate`).
 */
import { fromHex, toHex, utf8 } from "./bytes.js";
import { decode, encode, type Value } from "./codec.js";
import { ValidationError } from "./errors.js";
import { merkleRoot, sha256 } from "./hash.js";
import { verify } from "./keys.js";

/** A block header; hashes as lower-case hex, as `chain_getBlock` renders it. */
export interface BlockHeader {
  chain_id: string;
  height: number;
  prev_hash: string;
  tx_root: string;
  state_root: string;
  proposer: string;
  timestamp_ms: number;
  /** SHA-256 of the validator set in force at height + 1 (after this block's changes). */
  next_validators_hash: string;
}

function digest(name: string, hex: string): Uint8Array {
  const bytes = fromHex(hex);
  if (bytes.length !== 32) throw new ValidationError("field_invalid", `${name} is not 32 bytes`);
  return bytes;
}

/** The canonical bytes of a header: `[chain_id, height, prev_hash, tx_root, state_root,
 * proposer, timestamp_ms, next_validators_hash]`. */
export function headerBytes(header: BlockHeader): Uint8Array {
  return encode([header.chain_id, header.height, digest("prev_hash", header.prev_hash),
    digest("tx_root", header.tx_root), digest("state_root", header.state_root),
    digest("proposer", header.proposer), header.timestamp_ms,
    digest("next_validators_hash", header.next_validators_hash)]);
}

/** The block hash (hex): SHA-256 of the header's bytes. Check it against the `hash` a node
 * sent rather than trusting it. */
export function blockHash(header: BlockHeader): string {
  return toHex(sha256(headerBytes(header)));
}

/** The Merkle root (hex) over transaction ids (hex) in block order: the header's tx_root. */
export function txRoot(txIds: readonly string[]): string {
  return toHex(merkleRoot(txIds.map((id) => digest("transaction id", id))));
}

/** The domain tag of consensus votes. */
export const PBFT_DOMAIN = "agora/pbft/v1";
/** Vote phases. */
export const PHASE_PREPARE = 2;
export const PHASE_COMMIT = 3;

/** A decoded certificate: one phase's vote signatures on (view, height, digest). */
export interface Certificate {
  phase: number;
  view: number;
  height: number;
  /** The block hash (hex) the validators voted for. */
  digest: string;
  /** Signer index into the validator list, and the signature (hex), by increasing index. */
  signatures: { signer: number; signature: string }[];
  /** SHA-256 (hex) of the certificate's canonical bytes. */
  hash: string;
}

function uint(value: Value | undefined, name: string): number {
  if (typeof value !== "number" || value < 0) {
    throw new ValidationError("malformed", `certificate.${name} is not an integer`);
  }
  return value;
}

/** Decode certificate bytes (or hex); ValidationError(malformed) when they are not one.
 * Signatures are not checked: `verifyCertificate` does. */
export function decodeCertificate(data: Uint8Array | string): Certificate {
  const raw = typeof data === "string" ? fromHex(data) : data;
  const value = decode(raw);
  if (!Array.isArray(value) || value.length !== 5) {
    throw new ValidationError("malformed", "a certificate is an array of 5 fields");
  }
  const [phase, view, height, blockDigest, sigs] = value as Value[];
  if (!(blockDigest instanceof Uint8Array) || blockDigest.length !== 32 || !Array.isArray(sigs)) {
    throw new ValidationError("malformed", "certificate digest or signatures malformed");
  }
  const signatures = (sigs as Value[]).map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2 || !(pair[1] instanceof Uint8Array)
        || pair[1].length !== 64) {
      throw new ValidationError("malformed", "a certificate signature is [signer, 64 bytes]");
    }
    return { signer: uint(pair[0], "signer"), signature: toHex(pair[1]) };
  });
  signatures.forEach((item, index) => {
    if (index > 0 && item.signer <= signatures[index - 1]!.signer) {
      throw new ValidationError("malformed", "certificate signers not strictly increasing");
    }
  });
  return {
    phase: uint(phase, "phase"), view: uint(view, "view"), height: uint(height, "height"),
    digest: toHex(blockDigest), signatures, hash: toHex(sha256(raw)),
  };
}

/** The bytes each validator signed for a vote. */
export function votePayload(chainId: string, phase: number, view: number, height: number,
                            blockDigest: Uint8Array): Uint8Array {
  return encode([utf8(PBFT_DOMAIN), utf8(chainId), phase, view, height, blockDigest]);
}

/** The quorum of `n` validators: n - f with f = (n - 1) / 3. */
export function quorumSize(validators: number): number {
  return validators - Math.floor((validators - 1) / 3);
}

/** What `verifyCertificate` found: which signers are valid, and whether they are a quorum. */
export interface CertificateCheck {
  certificate: Certificate;
  /** The signer indexes whose signature verifies. */
  validSigners: number[];
  /** The signer indexes whose signature does not verify (or who are not validators). */
  invalidSigners: number[];
  /** True when it is a commit certificate of `height` and `blockHash` with a quorum of
   * valid signatures of distinct validators: the block is final. */
  final: boolean;
}

/**
 * Check that a commit certificate proves block `blockHashHex` final at `height`, given the
 * validators' public keys (hex, in index order: `chain_getValidators`) and the chain id.
 */
export function verifyCertificate(data: Uint8Array | string, height: number,
                                  blockHashHex: string, validatorKeys: readonly string[],
                                  chainId: string): CertificateCheck {
  const certificate = decodeCertificate(data);
  const payload = votePayload(chainId, certificate.phase, certificate.view, certificate.height,
                              fromHex(certificate.digest));
  const validSigners: number[] = [];
  const invalidSigners: number[] = [];
  for (const { signer, signature } of certificate.signatures) {
    const key = validatorKeys[signer];
    if (key !== undefined && verify(fromHex(key), payload, fromHex(signature))) {
      validSigners.push(signer);
    } else {
      invalidSigners.push(signer);
    }
  }
  const final = certificate.phase === PHASE_COMMIT && certificate.height === height
    && certificate.digest === blockHashHex.toLowerCase() && invalidSigners.length === 0
    && validSigners.length >= quorumSize(validatorKeys.length);
  return { certificate, validSigners, invalidSigners, final };
}
