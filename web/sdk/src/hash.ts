/** SHA-256 (the chain's one hash) and the Merkle root of a block's transactions. */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { concatBytes } from "./bytes.js";

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

/** RFC 6962-style Merkle root (leaf and node hashes domain-separated); empty: sha256(""),
 * an odd node is carried up unchanged (commerce/block.py merkle_root). */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  let level = leaves.map((leaf) => sha256(concatBytes(LEAF, leaf)));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      next.push(sha256(concatBytes(NODE, level[i]!, level[i + 1]!)));
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}
