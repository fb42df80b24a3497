"""Refusals of the node's blob store and its HTTP endpoint, numbered -32170..-32179 (the
upper half of the listing-media range; the chain's rules have -32160..-32169 in
`commerce.errors`). Each has the HTTP status the endpoint answers with."""

from __future__ import annotations

from base.errors import AgoraError, CodeTable, check_table


class BlobErrorCode(CodeTable):
    """Why the node refused to store or serve a blob."""

    BLOB_UNAUTHORIZED = ("blob_unauthorized", -32170,
                         "the upload's key, timestamp or signature header is missing or wrong")
    BLOB_STALE = ("blob_stale", -32171, "the upload's signed timestamp is too far from now")
    BLOB_NOT_MERCHANT = ("blob_not_merchant", -32172,
                         "the uploader is not an approved merchant")
    BLOB_TOO_LARGE = ("blob_too_large", -32173, "the blob is over the size limit")
    BLOB_QUOTA = ("blob_quota", -32174, "the merchant's blobs on this node would exceed its quota")
    BLOB_NOT_IMAGE = ("blob_not_image", -32175,
                      "the bytes are not a PNG, JPEG, WebP or GIF image with a valid header")
    BLOB_HASH_MISMATCH = ("blob_hash_mismatch", -32176,
                          "the bytes do not hash to the SHA-256 they were sent under")
    BLOB_NOT_FOUND = ("blob_not_found", -32177, "this node holds no blob of that hash")
    BLOB_BUSY = ("blob_busy", -32178, "too many uploads in flight; retry later")
    BLOB_BAD_NAME = ("blob_bad_name", -32179, "the blob's name is not 64 lowercase hex digits")


check_table(BlobErrorCode, (-32179, -32170))

HTTP_STATUS: dict[BlobErrorCode, int] = {
    BlobErrorCode.BLOB_UNAUTHORIZED: 401,
    BlobErrorCode.BLOB_STALE: 401,
    BlobErrorCode.BLOB_NOT_MERCHANT: 403,
    BlobErrorCode.BLOB_TOO_LARGE: 413,
    BlobErrorCode.BLOB_QUOTA: 507,
    BlobErrorCode.BLOB_NOT_IMAGE: 415,
    BlobErrorCode.BLOB_HASH_MISMATCH: 400,
    BlobErrorCode.BLOB_NOT_FOUND: 404,
    BlobErrorCode.BLOB_BUSY: 503,
    BlobErrorCode.BLOB_BAD_NAME: 400,
}
assert set(HTTP_STATUS) == set(BlobErrorCode), "every refusal has its HTTP status"


class BlobError(AgoraError):
    """The blob store refused an upload, a read or a peer's blob."""
