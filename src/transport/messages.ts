/**
 * The frame types and control messages shared by the parent side
 * (pool/worker-slot.ts, process/process.ts) and the child side (child/runtime.ts).
 * Nothing else is shared between the two sides.
 */
import type { RemoteErrorInfo } from '../errors.js';

// parent -> child
export const kInit = 1;      // payload: InitMessage
export const kBatch = 2;     // payload: [id, fn, isChunk, args, id, fn, isChunk, args, …]: tasks in order;
                             // a chunk's args are single items (map); fn '' is a placeholder to answer with kSkipped
export const kBatchSimple = 6; // payload: see codec/simple-batch.ts (primitive arguments only)
export const kCancel = 4;    // id: drop this task if it has not started
export const kStop = 5;      // finish what you hold, then exit 0
export const kRun = 7;       // payload: RunMessage; the child becomes a Process: run one function, then exit

// child -> parent
export const kReady = 10;    // payload: ReadyMessage
export const kBootError = 11; // payload: BootErrorMessage
export const kOk = 12;       // id; payload: the result
export const kError = 13;    // id; payload: RemoteErrorInfo (a Process's fn threw: id 0)
export const kChunkResult = 14; // id; payload: ChunkEntry[]
export const kFatal = 15;    // payload: RemoteErrorInfo, the uncaught error about to end the worker
export const kSkipped = 16;  // id: a cancelled task, dropped unstarted (every task gets exactly one answer)
// The handshake on an owner's socket (transport/server.ts, transport/client.ts).
export const kHello = 40;    // owner -> peer; payload: a nonce
export const kAuth = 41;     // peer -> owner; payload: HMAC-SHA256(secret, nonce)
export const kWelcome = 42;  // owner -> peer: proven

// Requests to a broker (broker/broker.ts). fn: the object id; id: the request id
// (0 for requests that get no answer). A link opens each further object with a
// kAuth frame (fn: the object, payload: HMAC(its secret, the link's nonce)).
export const kPut = 50;      // payload: the item as serialized; answer kDone (payload: the item id)
export const kPutNowait = 51;
export const kGet = 52;      // answer kDelivered
export const kGetNowait = 53;
export const kAck = 54;      // payload: utf8 item id; the item reached user code
export const kRelease = 55;  // payload: utf8 item ids, '\n'-separated; back to the queue unread
export const kTaskDone = 56; // payload: utf8 item id, or empty for the oldest this client holds
export const kJoin = 57;     // answer kDone
export const kClose = 58;    // answer kDone
export const kStats = 59;    // answer kValue (a semaphore's: its free permits)
export const kCancelRequest = 60; // id: the parked request to give up; answer: its kRefused 'cancelled', unless already answered
export const kAcquire = 61;  // answer kGranted
export const kAcquireNowait = 62;
export const kReleaseLease = 63; // payload: u32 lease id
export const kSet = 64;      // answer kDone
export const kClear = 65;    // answer kDone
export const kWait = 66;     // event: answer kDone; barrier: answer kPassed
export const kAbort = 67;    // barrier: answer kDone
export const kReset = 68;    // barrier: answer kDone
export const kInspect = 69;  // answer kValue
// Sent once by a link, first after its handshake, so the owner can name its
// clients by pid (`procsafe status`): fn '', id 0, payload u32 pid. No answer.
export const kPeerPid = 70;
// A put of a large item its writer wrote into a file of the owner's (queue/spill.ts):
// payload utf8 "<file name> <length>"; answered as kPut.
export const kPutFile = 71;
export const kPutFileNowait = 72;
// Several requests of one kind for one object (fn), sent in one turn, in one frame
// (transport/bundle.ts): payload n x (u32 id | u8 fnLength | fn | u32 length | payload),
// each part handled exactly as a frame of the single kind (kPut, kGet) with that id.
export const kPutBundle = 73;
export const kGetBundle = 74;
// Semaphore permits no one holds (Python's sem.release(k)): payload u32 k; answer kDone,
// or kRefused 'invalid' when a bounded semaphore would pass its permits.
export const kAddPermits = 75;

// Answers from a broker; id: the request id.
export const kDone = 80;     // payload: nothing, or utf8 (the id of an accepted item)
export const kDelivered = 81; // fn: "<deliveries> <item id>"; payload: the item as serialized
export const kRefused = 82;  // fn: 'closed' | 'cancelled' | 'broken' | 'invalid'; payload: utf8 message
export const kGranted = 83;  // payload: u32 lease id, u8 previousOwnerDied
export const kPassed = 84;   // payload: u32 arrival index
export const kValue = 85;    // payload: utf8 JSON
export const kDeliveredFile = 86; // as kDelivered, for an item kept in a file; payload: utf8 "<file name> <length>"
export const kFileFree = 87; // id 0, unasked: the owner let go of this link's file "<file name> <length>"; reuse or delete it
// Answers of one kind to one peer in one turn, in one frame (id 0, fn ''; parts as kPutBundle's).
export const kDoneBundle = 88;
export const kDeliveredBundle = 89;

// Results that skip v8 serialization: the common small cases.
export const kOkNumber = 17; // id; payload: f64
export const kOkString = 18; // id; payload: utf8
export const kOkUndefined = 19; // id (a Process's fn returned: id 0)

export interface InitMessage {
  readonly module: string;
  readonly initializer: string | undefined;
  readonly initArgs: readonly unknown[];
  readonly workerId: number;
  readonly name: string;
  readonly maxMessageBytes: number;
}

/** What a Process child runs; it answers kReady (or kBootError), then kOkUndefined or kError. */
export interface RunMessage {
  readonly module: string;
  readonly fn: string;
  readonly args: readonly unknown[];
  /** The process's name, for the report of an error it prints on stderr. */
  readonly name: string;
  /** Stop with the parent, however it dies; otherwise outlive it. */
  readonly daemon: boolean;
}

export interface ReadyMessage {
  readonly exports: readonly string[];
}

export interface BootErrorMessage {
  /** 'function': a Process's `fn` is not an exported function of its module. */
  readonly phase: 'import' | 'initializer' | 'function';
  readonly error: RemoteErrorInfo;
}

/** One item's outcome in a chunk: [true, value] or [false, error]. */
export type ChunkEntry = readonly [true, unknown] | readonly [false, RemoteErrorInfo];
