/**
 * The owner-side state of a SharedMap (shared/shared-map.ts): serialized keys and values, in insertion order. Keys
 * are told apart by their serialized bytes, as Python's dict tells keys apart by value; values are compared the same
 * way by compareAndSet. Nothing here belongs to a client, so a client's death changes nothing.
 */

export interface MapEntry {
  readonly key: Buffer;
  readonly value: Buffer;
}

export interface MapSnapshot {
  readonly kind: 'map';
  readonly size: number;
}

export class MapState {
  // A latin1 string of the key's bytes: one character per byte, so equal strings are equal bytes.
  readonly #entries = new Map<string, MapEntry>();

  get(key: Buffer): Buffer | undefined {
    return this.#entries.get(identity(key))?.value;
  }

  /** A new key goes last; an existing one keeps its place (as in Python and JS). */
  set(key: Buffer, value: Buffer): void {
    const id = identity(key);
    const existing = this.#entries.get(id);
    this.#entries.set(id, { key: existing?.key ?? key, value });
  }

  delete(key: Buffer): boolean {
    return this.#entries.delete(identity(key));
  }

  has(key: Buffer): boolean {
    return this.#entries.has(identity(key));
  }

  get size(): number {
    return this.#entries.size;
  }

  entries(): readonly MapEntry[] {
    return [...this.#entries.values()];
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Sets `next` if the value's bytes are `expected` (undefined: the key is absent); says whether it did. */
  compareAndSet(key: Buffer, expected: Buffer | undefined, next: Buffer): boolean {
    const current = this.get(key);
    if (expected === undefined ? current !== undefined : current === undefined || !current.equals(expected)) return false;
    this.set(key, next);
    return true;
  }

  inspect(): MapSnapshot {
    return { kind: 'map', size: this.#entries.size };
  }
}

function identity(key: Buffer): string {
  return key.toString('latin1');
}
