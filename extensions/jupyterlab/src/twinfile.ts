/**
 * Reading a saved twin (a `.twinlab` file) in the browser, without a kernel.
 *
 * A twinlab file is a safetensors file: 8 bytes (little-endian unsigned length n), n bytes of JSON header, then the
 * raw tensor bytes. The header's `__metadata__` holds `format = "twinlab"`, `format_version` and `spec`: the saved
 * object's tree as JSON, whose `{"__array__": key, "shape": [...]}` leaves point at tensors in the header.
 */

/** A tensor as the safetensors header describes it. */
export interface ITensorInfo {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** A parsed twinlab file: its metadata, tensor table and spec tree, and the bytes the tensors live in. */
export interface ITwinFile {
  formatVersion: number;
  spec: unknown;
  tensors: Record<string, ITensorInfo>;
  payload: DataView;
  nBytes: number;
}

/** A file that is not a (readable) twinlab file. */
export class TwinFileError extends Error {}

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Decode base64 (as the contents API serves binary files) to bytes. */
export function base64ToBytes(b64: string): Uint8Array {
  const text = atob(b64.replace(/\s+/g, ''));
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    bytes[i] = text.charCodeAt(i);
  }
  return bytes;
}

/** Parse a twinlab file's header and spec; throws `TwinFileError` naming what is wrong. */
export function parseTwinFile(bytes: Uint8Array): ITwinFile {
  if (bytes.length < 8) {
    throw new TwinFileError(`only ${bytes.length} bytes: not a safetensors file`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > Math.min(bytes.length - 8, MAX_HEADER_BYTES)) {
    throw new TwinFileError('its first 8 bytes are not a safetensors header length');
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    throw new TwinFileError('its header is not JSON');
  }
  const meta = (header['__metadata__'] ?? {}) as Record<string, string>;
  if (meta['format'] !== 'twinlab') {
    throw new TwinFileError('a safetensors file without twinlab metadata');
  }
  let spec: unknown;
  try {
    spec = JSON.parse(meta['spec']);
  } catch (err) {
    throw new TwinFileError('its spec is not JSON');
  }
  const tensors: Record<string, ITensorInfo> = {};
  for (const [key, value] of Object.entries(header)) {
    if (key !== '__metadata__') {
      tensors[key] = value as ITensorInfo;
    }
  }
  return {
    formatVersion: Number(meta['format_version']),
    spec,
    tensors,
    payload: new DataView(bytes.buffer, bytes.byteOffset + 8 + n, bytes.byteLength - 8 - n),
    nBytes: bytes.length
  };
}

const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1
};

/** The values of tensor `key` as numbers (at most `limit` of them), or null for a dtype not read here. */
export function tensorValues(file: ITwinFile, key: string, limit = Infinity): number[] | null {
  const info = file.tensors[key];
  const size = info ? DTYPE_BYTES[info.dtype] : undefined;
  if (!info || size === undefined) {
    return null;
  }
  const [begin, end] = info.data_offsets;
  const count = Math.min((end - begin) / size, limit);
  const out: number[] = [];
  const v = file.payload;
  for (let i = 0; i < count; i++) {
    const at = begin + i * size;
    switch (info.dtype) {
      case 'F64':
        out.push(v.getFloat64(at, true));
        break;
      case 'F32':
        out.push(v.getFloat32(at, true));
        break;
      case 'I64':
        out.push(Number(v.getBigInt64(at, true)));
        break;
      case 'U64':
        out.push(Number(v.getBigUint64(at, true)));
        break;
      case 'I32':
        out.push(v.getInt32(at, true));
        break;
      case 'U32':
        out.push(v.getUint32(at, true));
        break;
      case 'I16':
        out.push(v.getInt16(at, true));
        break;
      case 'U16':
        out.push(v.getUint16(at, true));
        break;
      case 'I8':
        out.push(v.getInt8(at));
        break;
      default:
        out.push(v.getUint8(at));
    }
  }
  return out;
}
