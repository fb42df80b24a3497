/**
 * The canonical msgpack codec, byte for byte the one of the Python node (base/codec.py).
 *
 * A structure is an array in a fixed field order; bytes use the bin type, text is UTF-8 str,
 * numbers are integers in their smallest msgpack form (no floats), and maps are not allowed,
 * so one value has exactly one byte form. `decode` re-encodes what it read and refuses
 * anything that does not come out byte for byte the same.
 *
 * Integers are JavaScript numbers when they are safe integers and bigints otherwise (both
 * encode the same way); the range is that of msgpack, -2^63 .. 2^64-1.
 */
import { fromUtf8, utf8, equalBytes } from "./bytes.js";
import { ValidationError } from "./errors.js";

/** A value with a canonical encoding. */
export type Value = null | boolean | number | bigint | string | Uint8Array | readonly Value[];

/** The deepest nesting the codec accepts (base.limits.MAX_DECODE_DEPTH). */
export const MAX_DECODE_DEPTH = 8;
/** The largest input `decode` reads by default (base.limits.MAX_DECODE_BYTES). */
export const MAX_DECODE_BYTES = 4 * 1024 * 1024;
const MIN_INT = -(2n ** 63n);
const MAX_INT = 2n ** 64n - 1n;

/** Why a value or bytes were refused (base.codec.CodecFault). */
export type CodecFault = "malformed" | "non_canonical" | "too_large" | "int_range";

/** A value or bytes the codec refuses; `reason` as the node names it (int_range: field_invalid). */
export class CodecError extends ValidationError {
  readonly fault: CodecFault;

  constructor(fault: CodecFault, message: string) {
    super(fault === "int_range" ? "field_invalid" : fault, message);
    this.fault = fault;
  }
}

class Writer {
  buffer = new Uint8Array(256);
  view = new DataView(this.buffer.buffer);
  length = 0;

  reserve(size: number): void {
    if (this.length + size <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + size) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  head(tag: number, size: 1 | 2 | 4, value: number): void {
    this.reserve(1 + size);
    this.buffer[this.length] = tag;
    if (size === 1) this.view.setUint8(this.length + 1, value);
    else if (size === 2) this.view.setUint16(this.length + 1, value);
    else this.view.setUint32(this.length + 1, value);
    this.length += 1 + size;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }
}

function writeInt(out: Writer, value: bigint | number): void {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new CodecError("malformed", `${value} is not an integer: no canonical encoding`);
    }
    if (value >= 0) {
      if (value < 0x80) return out.byte(value);
      if (value <= 0xff) return out.head(0xcc, 1, value);
      if (value <= 0xffff) return out.head(0xcd, 2, value);
      if (value <= 0xffffffff) return out.head(0xce, 4, value);
    } else {
      if (value >= -32) return out.byte(value & 0xff);
      if (value >= -0x80) return out.head(0xd0, 1, value & 0xff);
      if (value >= -0x8000) return out.head(0xd1, 2, value & 0xffff);
      if (value >= -0x80000000) return out.head(0xd2, 4, value >>> 0);
    }
    value = BigInt(value);
  }
  if (value < MIN_INT || value > MAX_INT) {
    throw new CodecError("int_range", "integer outside 64 bits");
  }
  if (value >= -0x80000000n && value <= 0xffffffffn) return writeInt(out, Number(value));
  out.reserve(9);
  out.buffer[out.length] = value >= 0n ? 0xcf : 0xd3;
  if (value >= 0n) out.view.setBigUint64(out.length + 1, value);
  else out.view.setBigInt64(out.length + 1, value);
  out.length += 9;
}

function writeLength(out: Writer, size: number, small: number, smallMax: number,
                     tags: readonly [number, number, number]): void {
  if (small >= 0 && size <= smallMax) out.byte(small | size);
  else if (tags[0] !== 0 && size <= 0xff) out.head(tags[0], 1, size);
  else if (size <= 0xffff) out.head(tags[1], 2, size);
  else out.head(tags[2], 4, size);
}

function write(out: Writer, value: Value, depth: number): void {
  if (depth > MAX_DECODE_DEPTH) {
    throw new CodecError("malformed", `nesting deeper than ${MAX_DECODE_DEPTH}`);
  }
  if (value === null) return out.byte(0xc0);
  if (value === false) return out.byte(0xc2);
  if (value === true) return out.byte(0xc3);
  if (typeof value === "number" || typeof value === "bigint") return writeInt(out, value);
  if (typeof value === "string") {
    const data = utf8(value);
    writeLength(out, data.length, 0xa0, 31, [0xd9, 0xda, 0xdb]);
    return out.bytes(data);
  }
  if (value instanceof Uint8Array) {
    writeLength(out, value.length, -1, -1, [0xc4, 0xc5, 0xc6]);
    return out.bytes(value);
  }
  if (Array.isArray(value)) {
    writeLength(out, value.length, 0x90, 15, [0, 0xdc, 0xdd]);
    for (const item of value as readonly Value[]) write(out, item, depth + 1);
    return;
  }
  const kind = value === undefined ? "undefined" : (value as object).constructor?.name;
  throw new CodecError("malformed", `type ${kind ?? typeof value} has no canonical encoding`);
}

/** The canonical bytes of `value`; CodecError for floats, maps, objects, deep nesting or
 * integers outside 64 bits. */
export function encode(value: Value): Uint8Array {
  const out = new Writer();
  write(out, value, 0);
  return out.buffer.slice(0, out.length);
}

class Reader {
  at = 0;
  readonly view: DataView;

  constructor(readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  need(size: number): void {
    if (this.at + size > this.data.length) {
      throw new CodecError("malformed", "not valid msgpack: the bytes end inside a value");
    }
  }

  uint(size: 1 | 2 | 4): number {
    this.need(size);
    const at = this.at;
    this.at += size;
    if (size === 1) return this.view.getUint8(at);
    if (size === 2) return this.view.getUint16(at);
    return this.view.getUint32(at);
  }

  take(size: number): Uint8Array {
    this.need(size);
    const out = this.data.slice(this.at, this.at + size);
    this.at += size;
    return out;
  }
}

function text(bytes: Uint8Array): string {
  try {
    return fromUtf8(bytes);
  } catch {
    throw new CodecError("malformed", "not valid msgpack: a str that is not UTF-8");
  }
}

function narrow(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value) : value;
}

function read(input: Reader, depth: number): Value {
  if (depth > MAX_DECODE_DEPTH) {
    throw new CodecError("malformed", `nesting deeper than ${MAX_DECODE_DEPTH}`);
  }
  const tag = input.uint(1);
  if (tag < 0x80) return tag;
  if (tag >= 0xe0) return tag - 0x100;
  if (tag >= 0xa0 && tag <= 0xbf) return text(input.take(tag & 31));
  if (tag >= 0x90 && tag <= 0x9f) return readArray(input, tag & 15, depth);
  switch (tag) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return input.take(input.uint(1));
    case 0xc5: return input.take(input.uint(2));
    case 0xc6: return input.take(input.uint(4));
    case 0xcc: return input.uint(1);
    case 0xcd: return input.uint(2);
    case 0xce: return input.uint(4);
    case 0xcf: {
      input.need(8);
      const value = input.view.getBigUint64(input.at);
      input.at += 8;
      return narrow(value);
    }
    case 0xd0: return (input.uint(1) << 24) >> 24;
    case 0xd1: return (input.uint(2) << 16) >> 16;
    case 0xd2: return input.uint(4) | 0;
    case 0xd3: {
      input.need(8);
      const value = input.view.getBigInt64(input.at);
      input.at += 8;
      return narrow(value);
    }
    case 0xd9: return text(input.take(input.uint(1)));
    case 0xda: return text(input.take(input.uint(2)));
    case 0xdb: return text(input.take(input.uint(4)));
    case 0xdc: return readArray(input, input.uint(2), depth);
    case 0xdd: return readArray(input, input.uint(4), depth);
    default:
      break;
  }
  const what = (tag >= 0x80 && tag <= 0x8f) || tag === 0xde || tag === 0xdf ? "a map"
    : tag === 0xca || tag === 0xcb ? "a float" : tag === 0xc1 ? "a reserved byte"
      : "an extension type";
  throw new CodecError("malformed", `not valid msgpack here: ${what}`);
}

function readArray(input: Reader, count: number, depth: number): Value[] {
  if (count > input.data.length - input.at) {
    throw new CodecError("malformed", "not valid msgpack: more items than bytes");
  }
  const out: Value[] = [];
  for (let i = 0; i < count; i++) out.push(read(input, depth + 1));
  return out;
}

/**
 * Decode canonical bytes into nested arrays. Refuses input over `maxBytes` (too_large),
 * trailing bytes, maps, floats, extension types, nesting deeper than MAX_DECODE_DEPTH
 * (malformed), and any form that re-encodes differently (non_canonical).
 */
export function decode(data: Uint8Array, maxBytes: number = MAX_DECODE_BYTES): Value {
  if (!(data instanceof Uint8Array)) throw new CodecError("malformed", "expected bytes");
  if (data.length > maxBytes) {
    throw new CodecError("too_large", `${data.length} bytes over limit ${maxBytes}`);
  }
  const input = new Reader(data);
  const value = read(input, 0);
  if (input.at !== data.length) {
    throw new CodecError("malformed", "trailing bytes after the value");
  }
  if (!equalBytes(encode(value), data)) {
    throw new CodecError("non_canonical", "bytes are not the canonical encoding");
  }
  return value;
}
