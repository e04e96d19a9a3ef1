/**
 * Tasks whose arguments are all numbers, short strings, booleans, null or
 * undefined (most calls) are encoded without the v8 serializer, whose per-call
 * setup costs more than such a task: profiling the sequential round trip showed
 * serializer and deserializer construction as the largest item on both sides.
 *
 * Per task: u32 id | u8 fnLength | fn | u8 argc | argc × (u8 tag | data)
 * tags: 0 f64 | 1 u32 byteLength + utf8 | 2 undefined | 3 null | 4 true | 5 false
 */

const kMaxStringChars = 4096;
const kMaxArgs = 255;

/** What a simple batch carries per task; `fn` '' is a placeholder the child skips. */
export interface SimpleTask {
  readonly id: number;
  readonly fn: string;
  readonly args: readonly unknown[];
}

/** The payload size, or -1 if some argument needs the v8 serializer. */
export function simpleBatchSize(tasks: readonly SimpleTask[]): number {
  let size = 0;
  for (const task of tasks) {
    if (task.args.length > kMaxArgs) return -1;
    size += 4 + 1 + Buffer.byteLength(task.fn) + 1;
    for (const arg of task.args) {
      switch (typeof arg) {
        case 'number': size += 9; break;
        case 'string':
          if (arg.length > kMaxStringChars) return -1;
          size += 5 + Buffer.byteLength(arg);
          break;
        case 'boolean': case 'undefined': size += 1; break;
        default:
          if (arg !== null) return -1;
          size += 1;
      }
    }
  }
  return size;
}

/** Writes the batch into `out` from `offset`; `out` has simpleBatchSize() bytes there. */
export function writeSimpleBatch(tasks: readonly SimpleTask[], out: Buffer, offset: number): void {
  let at = offset;
  for (const task of tasks) {
    out.writeUInt32BE(task.id >>> 0, at);
    const fnLength = out.write(task.fn, at + 5, 'utf8');
    out[at + 4] = fnLength;
    at += 5 + fnLength;
    out[at++] = task.args.length;
    for (const arg of task.args) {
      if (typeof arg === 'number') {
        out[at] = 0;
        out.writeDoubleLE(arg, at + 1);
        at += 9;
      } else if (typeof arg === 'string') {
        out[at] = 1;
        const length = out.write(arg, at + 5, 'utf8');
        out.writeUInt32BE(length, at + 1);
        at += 5 + length;
      } else {
        out[at++] = arg === undefined ? 2 : arg === null ? 3 : arg === true ? 4 : 5;
      }
    }
  }
}

export function readSimpleBatch(payload: Buffer, onTask: (id: number, fn: string, args: unknown[]) => void): void {
  let at = 0;
  while (at < payload.length) {
    const id = payload.readUInt32BE(at);
    const fnLength = payload[at + 4] as number;
    const fn = payload.toString('utf8', at + 5, at + 5 + fnLength);
    at += 5 + fnLength;
    const argc = payload[at++] as number;
    const args = new Array<unknown>(argc);
    for (let i = 0; i < argc; i++) {
      const tag = payload[at++];
      if (tag === 0) {
        args[i] = payload.readDoubleLE(at);
        at += 8;
      } else if (tag === 1) {
        const length = payload.readUInt32BE(at);
        args[i] = payload.toString('utf8', at + 4, at + 4 + length);
        at += 4 + length;
      } else {
        args[i] = tag === 2 ? undefined : tag === 3 ? null : tag === 4;
      }
    }
    onTask(id, fn, args);
  }
}
