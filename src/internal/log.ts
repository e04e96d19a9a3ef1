/**
 * Warnings an outsider can trigger at will (a flood of connections, each refused) must not flood the log too: lines of
 * one kind are written at most `lines` times per `intervalMs`; the rest are counted, and reported in one line when the
 * interval ends.
 */

export interface RateLimit {
  /** Lines of one kind written per interval before they are only counted. @default 10 */
  readonly lines?: number;
  /** @default 5_000 */
  readonly intervalMs?: number;
}

interface Window {
  until: number;
  written: number;
  dropped: number;
  timer: NodeJS.Timeout | undefined;
}

/** Kinds followed one by one; past that many (a peer can vary what it sends), the rest share one. */
const kMostKinds = 64;

/** A line's kind: its text with numbers and quoted names (which a peer chooses) blanked. */
export function kindOf(message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/\d+/g, '#');
}

/** A log into `write` that writes at most `lines` lines of each kind per interval. */
export function rateLimited(
  write: (message: string) => void, { lines = 10, intervalMs = 5_000 }: RateLimit = {},
): (message: string) => void {
  const windows = new Map<string, Window>();
  const summarize = (kind: string, window: Window): void => {
    clearTimeout(window.timer);
    window.timer = undefined;
    if (window.dropped > 0) write(`…and ${window.dropped} more in ${intervalMs / 1000} s like: ${kind}`);
    window.dropped = 0;
  };
  return (message) => {
    const now = Date.now();
    let kind = kindOf(message);
    if (!windows.has(kind) && windows.size >= kMostKinds) kind = 'any other line';
    let window = windows.get(kind);
    if (window === undefined) windows.set(kind, window = { until: 0, written: 0, dropped: 0, timer: undefined });
    if (now >= window.until) {
      summarize(kind, window);
      window.until = now + intervalMs;
      window.written = 0;
    }
    if (window.written < lines) {
      window.written++;
      write(message);
      return;
    }
    window.dropped++;
    if (window.timer === undefined) {
      const open = window;
      // Reported even if nothing of this kind comes again; never keeps the process alive.
      window.timer = setTimeout(() => summarize(kind, open), Math.max(0, window.until - now));
      window.timer.unref();
    }
  };
}
