// What a peer and an owner's broker say to each other after the handshake (transport/handshake.ts): the frame kinds, and
// the typed payloads of answers whose fields share a frame's `fn` (deliveries, refusals). Frames: transport/frame.ts.
import type { ItemQuarantined } from '../errors.js';
import { unreachable } from '../internal/unreachable.js';
import { encodeText, type Frame, ProtocolViolation } from '../transport/frame.js';
import { parseFileRef } from '../queue/spill.js';
import type { FileItem } from '../queue/state.js';
import { itemQuarantined } from '../queue/refusals.js';

/** Requests, peer -> owner; fn: the object id, id: the peer's request id (0: no answer). Payloads, answers: docs/wire.md. */
export const kRequest = {
  Put: 50,
  PutNowait: 51,
  Get: 52,
  GetNowait: 53,
  Ack: 54,
  Release: 55,
  /** payload: utf8 item id, or empty for the oldest this client holds. No answer unless refused. */
  TaskDone: 56,
  Join: 57,
  /** payload: empty, or u8 1 to close at once (drop waiting items). */
  Close: 58,
  Stats: 59,
  CancelRequest: 60,
  Acquire: 61,
  AcquireNowait: 62,
  ReleaseLease: 63,
  Set: 64,
  Clear: 65,
  Wait: 66,
  Abort: 67,
  Reset: 68,
  Inspect: 69,
  PeerPid: 70,
  /** A large item its writer wrote into a file of the owner's (queue/spill.ts). */
  PutFile: 71,
  PutFileNowait: 72,
  AddPermits: 75,
  /** This client lets go of a queue: its waiting requests are refused `closed`, its items go back. */
  Leave: 76,
  /** A Lock's word in shared memory (sync/lock-word.ts): answered Value {file, id}, or Value null where there is none. */
  WordOpen: 77,
  /** A fast hold of the lock word released while others waited (the contended bit): the owner hands it on. No answer. */
  ReleaseWord: 78,
  /** Condition: payload u32 how many waits to wake, 0xffffffff for all. */
  Notify: 90,
  /** Condition: this client took up a wake (payload u8 0), or hands it on to the next waiter (u8 1). No answer. */
  WaitDone: 91,
  // A SharedMap's (shared/map-state.ts): payloads are length-prefixed serialized parts (encodeParts).
  MapGet: 110,
  MapSet: 111,
  MapDelete: 112,
  MapHas: 113,
  MapSize: 114,
  MapEntries: 115,
  MapClear: 116,
  /** parts: key, next, then expected unless the key must be absent. */
  MapCompareAndSet: 117,
  /** A Pipe end: this client holds it (sent when the end arrives), and lets go of it (`close()`; payload 1: the creator's copy). */
  PipeHold: 120,
  PipeClose: 121,
} as const;

export type RequestKind = (typeof kRequest)[keyof typeof kRequest];

/** Answers, owner -> peer; id: the request id (0: unasked). */
export const kAnswer = {
  /** payload: nothing. */
  Done: 80,
  /** fn and payload: see deliveryFn and decodeDelivery. */
  Delivered: 81,
  /** fn: the RefusalReason; payload: utf8 message. */
  Refused: 82,
  /** payload: u32 lease id, u8 previousOwnerDied. */
  Granted: 83,
  /** payload: u32 arrival index. */
  Passed: 84,
  /** payload: utf8 JSON. */
  Value: 85,
  /** As Delivered, for an item kept in a file; payload utf8 "<file> <length>". */
  DeliveredFile: 86,
  /** id 0, unasked: the owner let go of this link's file "<file> <length>"; reuse or delete it. */
  FileFree: 87,
  /** payload: length-prefixed parts (encodeParts): a value, or none; or keys and values in turn. */
  MapParts: 118,
} as const;

export type AnswerKind = (typeof kAnswer)[keyof typeof kAnswer];

/** A frame from an owner, checked to be an answer (broker/link.ts): a switch over its type can be exhaustive. */
export interface AnswerFrame extends Frame {
  readonly type: AnswerKind;
}

// Several frames of one kind in one (broker/bundle.ts): requests for one object (fn) in one turn, or one peer's answers
// of a turn (id 0, fn '').
export const kBundle = {
  Put: 73,
  Get: 74,
  Done: 88,
  Delivered: 89,
} as const;

export type BundleKind = (typeof kBundle)[keyof typeof kBundle];
/** The bundles a link sends. */
export type RequestBundle = typeof kBundle.Put | typeof kBundle.Get;

const kRequests: ReadonlySet<number> = new Set(Object.values(kRequest));
const kAnswers: ReadonlySet<number> = new Set(Object.values(kAnswer));

export function isRequest(type: number): type is RequestKind {
  return kRequests.has(type);
}

export function isAnswer(type: number): type is AnswerKind {
  return kAnswers.has(type);
}

/** The requests each kind of object takes, besides CancelRequest and Inspect, which all take. */
export const kQueueRequests = [
  kRequest.Put, kRequest.PutNowait, kRequest.PutFile, kRequest.PutFileNowait, kRequest.Get, kRequest.GetNowait,
  kRequest.Ack, kRequest.Release, kRequest.TaskDone, kRequest.Join, kRequest.Close, kRequest.Stats, kRequest.Leave,
] as const;
export const kLockRequests = [
  kRequest.Acquire, kRequest.AcquireNowait, kRequest.ReleaseLease, kRequest.AddPermits, kRequest.Stats, kRequest.WordOpen,
  kRequest.ReleaseWord,
] as const;
export const kEventRequests = [kRequest.Set, kRequest.Clear, kRequest.Wait, kRequest.Stats] as const;
export const kBarrierRequests = [kRequest.Wait, kRequest.Abort, kRequest.Reset, kRequest.Stats] as const;
export const kConditionRequests = [kRequest.Wait, kRequest.Notify, kRequest.WaitDone, kRequest.Stats] as const;
export const kMapRequests = [
  kRequest.MapGet, kRequest.MapSet, kRequest.MapDelete, kRequest.MapHas, kRequest.MapSize, kRequest.MapEntries,
  kRequest.MapClear, kRequest.MapCompareAndSet,
] as const;
/** A Pipe end takes a queue's requests (routed to its direction's queue) and these. */
export const kPipeRequests = [...kQueueRequests, kRequest.PipeHold, kRequest.PipeClose] as const;

export type QueueRequest = (typeof kQueueRequests)[number];
export type LockRequest = (typeof kLockRequests)[number];
export type EventRequest = (typeof kEventRequests)[number];
export type BarrierRequest = (typeof kBarrierRequests)[number];
export type ConditionRequest = (typeof kConditionRequests)[number];
export type MapRequest = (typeof kMapRequests)[number];
export type PipeRequest = (typeof kPipeRequests)[number];
/** A request about one object, past those every object takes (CancelRequest, Inspect) and PeerPid (about none). */
export type ObjectRequest = Exclude<RequestKind, typeof kRequest.CancelRequest | typeof kRequest.Inspect | typeof kRequest.PeerPid>;
/** Compiles only while every request kind is taken by some object, or is one of those all take (or none: PeerPid). */
export const kEveryRequestPlaced: [Exclude<RequestKind, QueueRequest | LockRequest | EventRequest | BarrierRequest | ConditionRequest |
  MapRequest | PipeRequest |
  typeof kRequest.CancelRequest | typeof kRequest.Inspect | typeof kRequest.PeerPid>] extends [never] ? true : never = true;

function oneOf<T extends number>(kinds: readonly T[]): (type: number) => type is T {
  const set: ReadonlySet<number> = new Set(kinds);
  return (type): type is T => set.has(type);
}

export const isQueueRequest = oneOf(kQueueRequests);
export const isLockRequest = oneOf(kLockRequests);
export const isEventRequest = oneOf(kEventRequests);
export const isBarrierRequest = oneOf(kBarrierRequests);
export const isConditionRequest = oneOf(kConditionRequests);
export const isMapRequest = oneOf(kMapRequests);
export const isPipeRequest = oneOf(kPipeRequests);
/** The requests that may wait for their answer: the owner books them if they cannot be answered at once. */
export const mayWait = oneOf([
  kRequest.Put, kRequest.PutNowait, kRequest.PutFile, kRequest.PutFileNowait, kRequest.Get, kRequest.GetNowait, kRequest.Join,
  kRequest.Acquire, kRequest.AcquireNowait, kRequest.Wait,
]);

/** An item handed to a reader, as its answer's fn and payload say. */
export type Delivery = {
  /** 1 on the first delivery; more when a reader died holding it or gave it back. */
  readonly deliveries: number;
  readonly itemId: string;
} & (
  /** Delivered: the item as serialized. */
  | { readonly item: Buffer; readonly file: undefined }
  /** DeliveredFile: the item's file, for its reader to read (queue/spill.ts). */
  | { readonly item: undefined; readonly file: FileItem }
);

/** A Delivered or DeliveredFile answer's fn: "<deliveries> <item id>" (the payload is the item, or its file). */
export function deliveryFn(deliveries: number, itemId: string): string {
  return `${deliveries} ${itemId}`;
}

/** A Delivered or DeliveredFile answer (or a part of a bundle of them), decoded; throws ProtocolViolation if malformed. */
export function decodeDelivery(answer: Frame): Delivery {
  const { fn } = answer;
  // Exactly what deliveryFn writes: a decimal count from 1 (no sign, exponent or leading zero), a space, an id.
  let deliveries = 0;
  let at = 0;
  for (; at < fn.length && at < 15; at++) {
    const digit = fn.charCodeAt(at) - 48;
    if (digit < 0 || digit > 9 || (digit === 0 && at === 0)) break;
    deliveries = deliveries * 10 + digit;
  }
  if (at === 0 || fn.charCodeAt(at) !== 32 || at === fn.length - 1) {
    throw new ProtocolViolation(`a delivery's fn must be "<deliveries> <item id>", got ${JSON.stringify(fn)}`);
  }
  const itemId = fn.slice(at + 1);
  if (answer.type === kAnswer.Delivered) return { deliveries, itemId, item: answer.payload, file: undefined };
  if (answer.type === kAnswer.DeliveredFile) {
    return { deliveries, itemId, item: undefined, file: parseFileRef(answer.payload.toString('utf8')) };
  }
  throw new ProtocolViolation(`frame type ${answer.type} is not a delivery`);
}

// Why the owner refused a request (kAnswer.Refused's fn). `quarantined`, to a get: an item was dropped because its
// readers kept dying (queue/state.ts); the payload is "<deaths> <item id>" (quarantineRefusal), not a message.
export const kRefusalReasons = ['closed', 'cancelled', 'broken', 'invalid', 'quarantined'] as const;
export type RefusalReason = (typeof kRefusalReasons)[number];
const kReasons: ReadonlySet<string> = new Set(kRefusalReasons);

export interface Refusal {
  readonly reason: RefusalReason;
  readonly message: string;
}

export function encodeRefusal(id: number, reason: RefusalReason, message: string): Buffer {
  return encodeText(kAnswer.Refused, id, reason, message);
}

/** A Refused answer, decoded; throws ProtocolViolation if malformed. */
export function decodeRefusal(answer: Frame): Refusal {
  if (answer.type !== kAnswer.Refused) throw new ProtocolViolation(`frame type ${answer.type} is not a refusal`);
  if (!kReasons.has(answer.fn)) throw new ProtocolViolation(`unknown refusal reason ${JSON.stringify(answer.fn)}`);
  const message = answer.payload.toString('utf8');
  if (answer.fn === 'quarantined' && !kQuarantine.test(message)) {
    throw new ProtocolViolation(`a quarantine refusal must carry "<deaths> <item id>", got ${JSON.stringify(message)}`);
  }
  return { reason: answer.fn as RefusalReason, message };
}

const kQuarantine = /^([1-9][0-9]{0,8}) (\S+)$/;

/** The answer to a get that a quarantined item is told to. */
export function quarantineRefusal(id: number, itemId: string, deaths: number): Buffer {
  return encodeRefusal(id, 'quarantined', `${deaths} ${itemId}`);
}

/** The error a `quarantined` refusal's message (checked by decodeRefusal) stands for. */
export function quarantineError(message: string): ItemQuarantined {
  const [, count = '0', itemId = ''] = kQuarantine.exec(message) ?? [];
  return itemQuarantined(itemId, Number(count));
}

// Throws ProtocolViolation unless `frame` is an answer its consumer can decode: a link checks each as it arrives, so a
// malformed one cuts the link (its leased items go back to the queue) rather than failing one request and leaving them held.
export function checkAnswer(frame: Frame): asserts frame is AnswerFrame {
  const { type } = frame;
  if (!isAnswer(type)) throw new ProtocolViolation(`the owner sent frame type ${type}, which is not an answer`);
  switch (type) {
    case kAnswer.Delivered: case kAnswer.DeliveredFile: decodeDelivery(frame); return;
    case kAnswer.Refused: decodeRefusal(frame); return;
    case kAnswer.Done: case kAnswer.Granted: case kAnswer.Passed: case kAnswer.Value: case kAnswer.FileFree: return;
    case kAnswer.MapParts: decodeParts(wholePayload(frame), 'a map answer'); return;
    default: unreachable(type, 'answer type');
  }
}

/** Byte strings one after another, each `u32 length │ bytes`: a SharedMap's keys and values, already serialized. */
export function encodeParts(parts: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const part of parts) {
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(part.length, 0);
    out.push(length, part);
  }
  return out;
}

/** A frame's payload in one piece: a large one may arrive in the pieces it came in (Frame.more). */
export function wholePayload({ payload, more }: Frame): Buffer {
  return more === undefined || more.length === 0 ? payload : Buffer.concat([payload, ...more]);
}

/** The parts encodeParts wrote; throws ProtocolViolation if they do not fill `payload` exactly. */
export function decodeParts(payload: Buffer, what: string): Buffer[] {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < payload.length) {
    if (at + 4 > payload.length) throw new ProtocolViolation(`${what}: a part's length overruns the payload`);
    const end = at + 4 + payload.readUInt32BE(at);
    if (end > payload.length) throw new ProtocolViolation(`${what}: a part of ${end - at - 4} bytes overruns the payload`);
    parts.push(payload.subarray(at + 4, end));
    at = end;
  }
  return parts;
}
