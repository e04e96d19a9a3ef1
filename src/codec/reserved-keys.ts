// Keys starting `__procsafe_` mark the records the codec writes (handles, carried errors). User data may hold such keys
// too (a relayed JSON document): the sender escapes each by adding `~` after the prefix and the receiver removes it, so
// user data never looks like a record and arrives as it was sent.

export const kRecordPrefix = '__procsafe_';
const kEscapePrefix = `${kRecordPrefix}~`;
// The prefix as v8 writes it in a one-byte string, and in a two-byte one (UTF-16LE).
const kPrefixOneByte = Buffer.from(kRecordPrefix, 'latin1');
const kPrefixTwoByte = Buffer.from(kRecordPrefix, 'utf16le');

export function isReservedKey(key: string): boolean {
  return key.startsWith(kRecordPrefix);
}

export function escapeKey(key: string): string {
  return isReservedKey(key) ? kEscapePrefix + key.slice(kRecordPrefix.length) : key;
}

export function isEscapedKey(key: string): boolean {
  return key.startsWith(kEscapePrefix);
}

export function unescapeKey(key: string): string {
  return kRecordPrefix + key.slice(kEscapePrefix.length);
}

// Whether v8 bytes may hold a record or a reserved key (keys appear in them verbatim): values without one (nearly all)
// are never walked for them.
export function mayHoldReservedKeys(v8Bytes: Buffer): boolean {
  return v8Bytes.indexOf(kPrefixOneByte) !== -1 || v8Bytes.indexOf(kPrefixTwoByte) !== -1;
}
