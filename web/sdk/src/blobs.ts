/**
 * Listing pictures as blobs named by their SHA-256 (docs/RPC.md, "Blobs"), the twin of the
 * Python `client.blobs`: `blobName` names the bytes, `uploadSigningBytes` is what the
 * merchant signs, `uploadHeaders` the three authentication headers of `PUT /blobs/<name>`;
 * `RpcClient.uploadBlob` sends them. `sniffImage` is the node's own content check (the type
 * by its magic bytes) so a page can refuse a file before it is sent.
 */
import { toHex } from "./bytes.js";
import { encode } from "./codec.js";
import { sha256 } from "./hash.js";
import type { Keypair } from "./keys.js";

/** The domain of an upload's signature (commerce/media.py `UPLOAD_DOMAIN`). */
export const UPLOAD_DOMAIN = "agora/blob-upload/v1";
/** The node's limits on one blob (node/blobs/limits.py). */
export const MAX_BLOB_BYTES = 2 * 1024 * 1024;
export const MIN_BLOB_BYTES = 16;
export const MAX_IMAGE_SIDE_PIXELS = 16_384;
/** A listing version's pictures, at most. */
export const MAX_LISTING_MEDIA = 8;
/** The image types the node stores. */
export const BLOB_CONTENT_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"] as const;
/** One of them. */
export type BlobContentType = (typeof BLOB_CONTENT_TYPES)[number];

/** The name of `data`: its SHA-256 as 64 lowercase hex digits. */
export function blobName(data: Uint8Array): string {
  return toHex(sha256(data));
}

/** What a merchant signs to upload a blob: the canonical array
 * `[UPLOAD_DOMAIN, chain_id, sha256, size, timestamp_ms]`. */
export function uploadSigningBytes(chainId: string, digest: Uint8Array, sizeBytes: number,
                                   timestampMs: number): Uint8Array {
  return encode([UPLOAD_DOMAIN, chainId, digest, sizeBytes, timestampMs]);
}

/** The headers that authenticate an upload of `data` by the merchant holding `keypair`. */
export function uploadHeaders(keypair: Keypair, chainId: string, data: Uint8Array,
                              timestampMs: number = Date.now()): Record<string, string> {
  const signature = keypair.sign(
    uploadSigningBytes(chainId, sha256(data), data.length, timestampMs));
  return {
    "X-Agora-Key": keypair.publicKeyHex,
    "X-Agora-Timestamp": String(timestampMs),
    "X-Agora-Signature": toHex(signature),
  };
}

/** The image type of `data` by its magic bytes, as the node decides it; null for anything
 * else (the node refuses it with blob_not_image whatever the file's name says). */
export function sniffImage(data: Uint8Array): BlobContentType | null {
  const starts = (magic: number[], at = 0) => magic.every((b, i) => data[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (starts([0xff, 0xd8, 0xff])) return "image/jpeg";
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) {
    return "image/webp";
  }
  if (starts([0x47, 0x49, 0x46, 0x38]) && (data[4] === 0x37 || data[4] === 0x39)
      && data[5] === 0x61) {
    return "image/gif";
  }
  return null;
}
