// String.prototype.isWellFormed (Node 20), which the ES2023 lib does not declare. The fast encodings carry strings as
// UTF-8, which cannot hold a lone surrogate: such a string takes the v8 path instead.
const kIsWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed;

/** True unless `text` holds a lone surrogate. V8 answers a one-byte string without scanning it. */
export function isWellFormed(text: string): boolean {
  return kIsWellFormed.call(text);
}
