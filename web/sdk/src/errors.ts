/**
 * The SDK's errors. Every refusal carries `reason`, the stable snake_case name of
 * docs/ERRORS.md, and `code`, its number, so a program tells a local refusal
 * (a bad address typed in a form) and a node's refusal (`RpcCallError`) apart by class but
 * handles both by reason.
 */

/** The reasons the SDK itself raises before anything is sent, with their numbers. */
export const LOCAL_REASONS = {
  malformed: -32001,
  non_canonical: -32002,
  too_large: -32003,
  unknown_type: -32004,
  field_invalid: -32005,
  field_too_long: -32006,
  amount_out_of_range: -32007,
  bad_address: -32008,
  bad_amount: -32009,
  bad_signature: -32010,
} as const;

/** A reason the SDK raises locally. */
export type LocalReason = keyof typeof LOCAL_REASONS;

/** Base of every error the SDK throws. */
export class AgoraError extends Error {
  /** The stable name of the refusal (docs/ERRORS.md). */
  readonly reason: string;
  /** Its JSON-RPC error number. */
  readonly code: number;

  constructor(reason: string, code: number, message: string) {
    super(message);
    this.name = new.target.name;
    this.reason = reason;
    this.code = code;
  }
}

/** Input refused on this machine (encoding, address, amount, field checks, sealed notes). */
export class ValidationError extends AgoraError {
  constructor(reason: LocalReason, message: string) {
    super(reason, LOCAL_REASONS[reason], message);
  }
}
