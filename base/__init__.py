"""The shared base: what every Agora package needs and none may own alone.

A leaf: it imports nothing of ours, and every package (`consensus`, `commerce`, `p2p`,
`node`, `devnet`, `cli`) may import it. It holds the one canonical msgpack codec
(`base.codec`), hashing (`base.hashing`), the root of the error classes and the base of
every error-code table (`base.errors`), and the limits that hold chain-wide: block bytes,
the validator cap, key, signature and digest sizes (`base.limits`).
"""
