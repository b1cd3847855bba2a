import { BinaryReader, BinaryWriter } from 'cosmjs-types/binary';

/**
 * A small table-driven protobuf (proto3) codec. The generated file describes each message as a
 * list of fields; this runtime turns the description into the `encode/decode/fromPartial` object
 * a cosmjs `Registry` accepts (`TsProtoGeneratedType`). One runtime instead of thousands of lines
 * of per-message code: a wire-format bug is fixed once, and golden vectors pin the bytes.
 *
 * Proto3 rules followed: default values are not written; repeated numeric fields are written
 * packed and read packed or unpacked; unknown fields are skipped (so reading a subset of a
 * chain message is safe); int64/uint64 are bigint.
 */
export type ScalarKind = 'string' | 'bool' | 'bytes' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'enum';

export interface FieldSpec {
  no: number;
  name: string;
  kind: ScalarKind | 'message';
  repeated?: boolean;
  /** For message fields: the nested codec, behind a thunk so declaration order does not matter. */
  message?: () => MessageCodec<any>;
}

export interface MessageCodec<T> {
  readonly typeUrl: string;
  readonly fields: readonly FieldSpec[];
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): T;
  fromPartial(object: DeepPartial<T>): T;
}

export type DeepPartial<T> = T extends bigint | number | string | boolean | Uint8Array
  ? T
  : T extends Array<infer U>
    ? Array<DeepPartial<U>>
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

const LENGTH_DELIMITED = 2;
const VARINT = 0;

function defaultOf(field: FieldSpec): unknown {
  if (field.repeated) return [];
  switch (field.kind) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'bytes':
      return new Uint8Array();
    case 'int64':
    case 'uint64':
      return 0n;
    case 'message':
      return undefined;
    default:
      return 0;
  }
}

function isDefault(field: FieldSpec, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  switch (field.kind) {
    case 'string':
      return value === '';
    case 'bool':
      return value === false;
    case 'bytes':
      return (value as Uint8Array).length === 0;
    case 'int64':
    case 'uint64':
      return BigInt(value as bigint) === 0n;
    case 'message':
      return false;
    default:
      return value === 0;
  }
}

const packable = (field: FieldSpec) => field.kind !== 'string' && field.kind !== 'bytes' && field.kind !== 'message';

function writeScalar(writer: BinaryWriter, kind: ScalarKind, value: any): void {
  switch (kind) {
    case 'string':
      writer.string(value);
      break;
    case 'bool':
      writer.bool(value);
      break;
    case 'bytes':
      writer.bytes(value);
      break;
    case 'int32':
    case 'enum':
      writer.int32(value);
      break;
    case 'uint32':
      writer.uint32(value);
      break;
    case 'int64':
      writer.int64(value);
      break;
    case 'uint64':
      writer.uint64(value);
      break;
  }
}

function readScalar(reader: BinaryReader, kind: ScalarKind): unknown {
  switch (kind) {
    case 'string':
      return reader.string();
    case 'bool':
      return reader.bool();
    case 'bytes':
      return reader.bytes();
    case 'int32':
    case 'enum':
      return reader.int32();
    case 'uint32':
      return reader.uint32();
    case 'int64':
      return reader.int64();
    case 'uint64':
      return reader.uint64();
  }
}

function wireTypeOf(kind: FieldSpec['kind']): number {
  return kind === 'string' || kind === 'bytes' || kind === 'message' ? LENGTH_DELIMITED : VARINT;
}

export function defineMessage<T>(fullName: string, fields: readonly FieldSpec[]): MessageCodec<T> {
  const byNumber = new Map(fields.map((f) => [f.no, f]));
  const codec: MessageCodec<T> = {
    typeUrl: `/${fullName}`,
    fields,
    encode(message: T, writer: BinaryWriter = BinaryWriter.create()): BinaryWriter {
      for (const field of fields) {
        const value = (message as Record<string, unknown>)[field.name];
        if (field.repeated) {
          const items = (value as unknown[] | undefined) ?? [];
          if (items.length === 0) continue;
          if (packable(field)) {
            writer.uint32((field.no << 3) | LENGTH_DELIMITED).fork();
            for (const item of items) writeScalar(writer, field.kind as ScalarKind, item);
            writer.ldelim();
          } else {
            for (const item of items) writeOne(writer, field, item);
          }
        } else if (!isDefault(field, value)) {
          writeOne(writer, field, value);
        }
      }
      return writer;
    },
    decode(input: BinaryReader | Uint8Array, length?: number): T {
      const reader = input instanceof BinaryReader ? input : new BinaryReader(input);
      const end = length === undefined ? reader.len : reader.pos + length;
      const message = codec.fromPartial({} as DeepPartial<T>) as Record<string, unknown>;
      while (reader.pos < end) {
        const tag = reader.uint32();
        const field = byNumber.get(tag >>> 3);
        const wireType = tag & 7;
        if (!field) {
          reader.skipType(wireType);
          continue;
        }
        if (field.repeated && packable(field) && wireType === LENGTH_DELIMITED) {
          const packedEnd = reader.uint32() + reader.pos;
          while (reader.pos < packedEnd) (message[field.name] as unknown[]).push(readScalar(reader, field.kind as ScalarKind));
          continue;
        }
        if (wireType !== wireTypeOf(field.kind)) throw new Error(`${fullName}.${field.name}: wire type ${wireType} is not ${wireTypeOf(field.kind)}`);
        const value = field.kind === 'message' ? field.message!().decode(reader, reader.uint32()) : readScalar(reader, field.kind);
        if (field.repeated) (message[field.name] as unknown[]).push(value);
        else message[field.name] = value;
      }
      return message as T;
    },
    fromPartial(object: DeepPartial<T>): T {
      const source = (object ?? {}) as Record<string, unknown>;
      const message: Record<string, unknown> = {};
      for (const field of fields) {
        const value = source[field.name];
        if (value === undefined || value === null) {
          message[field.name] = defaultOf(field);
        } else if (field.kind === 'message') {
          const nested = field.message!();
          message[field.name] = field.repeated ? (value as unknown[]).map((v) => nested.fromPartial(v as never)) : nested.fromPartial(value as never);
        } else if (field.kind === 'int64' || field.kind === 'uint64') {
          message[field.name] = field.repeated ? (value as unknown[]).map((v) => BigInt(v as bigint)) : BigInt(value as bigint);
        } else {
          message[field.name] = field.repeated ? [...(value as unknown[])] : value;
        }
      }
      return message as T;
    },
  };
  return codec;
}

function writeOne(writer: BinaryWriter, field: FieldSpec, value: unknown): void {
  writer.uint32((field.no << 3) | wireTypeOf(field.kind));
  if (field.kind === 'message') {
    field.message!().encode(value, writer.fork() as BinaryWriter);
    writer.ldelim();
  } else {
    writeScalar(writer, field.kind, value);
  }
}
