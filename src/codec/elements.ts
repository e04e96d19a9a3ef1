// An array's elements, without its holes. `[]` with its length set to 2**32-1 is 49 bytes on the wire; a walk by index
// would visit (or, writing back, fill) four billion holes. Walks go by index while the array is dense and by its own
// keys from its first hole on, so they cost what the array holds, not its length.

const kIndexKey = /^(?:0|[1-9]\d*)$/;

/** Whether `key` (from Object.keys of an array this long) is an element, not a named property. */
export function isElementKey(key: string, length: number): boolean {
  return kIndexKey.test(key) && Number(key) < length;
}

// Calls `visit` with each index holding an element, in order, until it returns true; returns whether it did. `visit`
// reads the element itself, so a getter that throws there is the visitor's to name.
export function someIndex(array: readonly unknown[], visit: (index: number) => boolean): boolean {
  const length = array.length;
  let i = 0;
  for (; i < length; i++) {
    if (!(i in array)) break;
    if (visit(i)) return true;
  }
  if (i >= length) return false;
  for (const key of Object.keys(array)) {
    if (!isElementKey(key, length)) continue;
    const index = Number(key);
    // Index i is a hole: the keys before it were visited already.
    if (index > i && visit(index)) return true;
  }
  return false;
}

/** Sets an own data property as an object literal would: a key `__proto__` stays a key, not the prototype. */
export function setOwn(object: object, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
}
