/**
 * The same text always serializes to the same bytes. V8 keeps a string either one byte or two bytes per character,
 * and its serializer writes the form it holds: 'abc' sliced out of a string that also holds 'Ā' is two-byte and
 * serializes differently from the literal 'abc'. SharedMap compares keys (and compareAndSet's values) by their bytes,
 * so every string in them is copied through a decoder first: Node's decoder builds the one-byte form whenever the
 * text fits it. Arrays, plain objects, Maps and Sets are walked; anything else is kept as it is.
 */
export function canonical(value: unknown, seen = new Map<object, unknown>()): unknown {
  if (typeof value === 'string') return Buffer.from(value, 'utf16le').toString('utf16le');
  if (typeof value !== 'object' || value === null) return value;
  const known = seen.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array<unknown>(value.length);
    seen.set(value, out);
    // Own keys only: holes stay holes, and a sparse array costs what it holds.
    const from = value as unknown as Record<string, unknown>;
    const to = out as unknown as Record<string, unknown>;
    for (const key of Object.keys(value)) to[key] = canonical(from[key], seen);
    return out;
  }
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    seen.set(value, out);
    for (const [k, v] of value) out.set(canonical(k, seen), canonical(v, seen));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    seen.set(value, out);
    for (const v of value) out.add(canonical(v, seen));
    return out;
  }
  if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
    const out: Record<string, unknown> = Object.getPrototypeOf(value) === null ? Object.create(null) as Record<string, unknown> : {};
    seen.set(value, out);
    for (const key of Object.keys(value)) {
      Object.defineProperty(out, canonical(key) as string, {
        value: canonical((value as Record<string, unknown>)[key], seen), enumerable: true, writable: true, configurable: true,
      });
    }
    return out;
  }
  return value;
}
