/**
 * One connection's lanes: a file in the owner's 0700 directory under /dev/shm, mapped by both ends.
 *
 *   [control: 4096 bytes][up lane: kLaneBytes][down lane: kLaneBytes]
 *
 * The up lane carries the client's frames to the owner, the down lane the owner's to the client: each a single-producer
 * single-consumer byte ring carrying the same frames as the socket (transport/frame.ts), so every check of the framing
 * applies unchanged. Each control word sits on a cache line of its own and is touched only through Atomics:
 *
 * | word          | written by            | meaning                                                        |
 * | ------------- | --------------------- | -------------------------------------------------------------- |
 * | tail          | the lane's writer     | bytes published, mod 2^32: the reader may take up to here      |
 * | head          | the lane's reader     | bytes taken, mod 2^32: the writer may reuse up to here         |
 * | readerSleeps  | the reader (writer 0) | 1: the reader found nothing and waits on its bell: ring it     |
 * | writerWaits   | the writer (reader 0) | 1: the writer found no room and waits on its bell: ring it     |
 *
 * Bytes are published by the tail store after they are copied in, so a writer killed mid-copy publishes nothing; a
 * reader copies out before it stores its head, so a reader killed before that leaves the bytes for the owner to read.
 */
export const kControlBytes = 4096;
/** Each lane's capacity: a power of two, so positions wrap with a mask. */
export const kLaneBytes = 256 * 1024;
export const kLaneFileBytes = kControlBytes + 2 * kLaneBytes;

/** Int32 indices of one lane's words (16 words = 64 bytes apart). */
export interface LaneWords {
  readonly tail: number;
  readonly head: number;
  readonly readerSleeps: number;
  readonly writerWaits: number;
  /** Byte offset of the lane's data in the file. */
  readonly data: number;
}

export const kUp: LaneWords = { tail: 0, head: 16, readerSleeps: 32, writerWaits: 48, data: kControlBytes };
export const kDown: LaneWords = { tail: 64, head: 80, readerSleeps: 96, writerWaits: 112, data: kControlBytes + kLaneBytes };

/** A connection's lane file, named after its nonce (its bells add `.o` and `.c`). */
export function laneName(nonce: Buffer): string {
  return `lane-${nonce.subarray(0, 8).toString('hex')}`;
}

/** Names of a connection's files: the lanes, and each end's bell (`.o` the owner's, `.c` the client's). */
export const kLaneName = /^lane-[0-9a-f]{16}$/;
