"""The commerce state machine: encoding, transactions, execution and the shop's rules.

Pure: no asyncio, no disk, no clock. Importing the package registers every transaction
type and rule, so `decode_tx` and `apply_tx` know them all.
"""

from commerce import transfer as _transfer  # noqa: F401  (registers the type)
