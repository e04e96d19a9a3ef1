/**
 * The native addon (native/procsafe.c), loaded on first use and never at import: procsafe imports and works without it
 * (SharedArray alone needs it). Where it cannot load (not Linux, no binary built or prebuilt, PROCSAFE_NATIVE=0), the
 * reason is kept, for the error of whatever needed it, and told once per thread as a warning (code PROCSAFE_NATIVE).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What the addon exports: mapping files of /dev/shm, and doorbells (FIFOs watched on the calling thread's loop). */
export interface NativeAddon {
  /** A new file (O_EXCL, 0600, its memory reserved: ENOSPC now rather than SIGBUS later) or an existing one of exactly `bytes`. */
  map(path: string, bytes: number, create: boolean): ArrayBuffer;
  /** False if the file was already gone. */
  unlink(path: string): boolean;
  /** A new FIFO, 0600. */
  mkfifo(path: string): void;
  /** An fd on the FIFO at `path`, for ring(); never blocks, never raises SIGPIPE. */
  openBell(path: string): number;
  /** One byte into the bell (a full one was rung already: nothing more to say). */
  ring(fd: number): void;
  closeBell(fd: number): void;
  /** Calls `callback` on this thread each time the bell at `path` is rung; never keeps the thread alive. */
  watch(path: string, callback: () => void): object;
  /** Stops a watch (a second call does nothing). */
  unwatch(token: object): void;
}

const kExports = ['map', 'unlink', 'mkfifo', 'openBell', 'ring', 'closeBell', 'watch', 'unwatch'] as const;

type Loaded = { readonly addon: NativeAddon } | { readonly why: string };

let loaded: Loaded | undefined;
let warned = false;

/**
 * The addon, or undefined (and one warning per thread) where it cannot load: see nativeUnavailable() for why. `quiet`: no
 * warning (the broker thread: its owner's main thread warned when it started it, so a process says it once).
 */
export function loadNative(quiet = false): NativeAddon | undefined {
  loaded ??= attempt();
  if ('addon' in loaded) return loaded.addon;
  if (!warned && !quiet) {
    warned = true;
    process.emitWarning(`procsafe: the native addon is not in use: ${loaded.why}`, { type: 'ProcsafeWarning', code: 'PROCSAFE_NATIVE' });
  }
  return undefined;
}

/** Why the addon did not load; undefined if it did, or was not asked for yet. */
export function nativeUnavailable(): string | undefined {
  return loaded !== undefined && 'why' in loaded ? loaded.why : undefined;
}

function attempt(): Loaded {
  if (process.env['PROCSAFE_NATIVE'] === '0') return { why: 'PROCSAFE_NATIVE=0 turns it off' };
  if (process.platform !== 'linux') return { why: `it maps files of /dev/shm, which only Linux has (this is ${process.platform})` };
  // The package root, from dist/native/: where node-gyp-build finds build/Release or prebuilds/.
  const root = fileURLToPath(new URL('../../', import.meta.url));
  let addon: Partial<NativeAddon>;
  try {
    const nodeGypBuild = createRequire(import.meta.url)('node-gyp-build') as (dir: string) => unknown;
    addon = nodeGypBuild(root) as Partial<NativeAddon>;
  } catch (error) {
    const first = String((error as Error).message).split('\n')[0];
    return { why: `${first} (reinstall procsafe where a C compiler and Python are available: npm rebuild procsafe)` };
  }
  const missing = kExports.filter((name) => typeof addon[name] !== 'function');
  if (missing.length > 0) {
    const why = `the binary found under ${root} is not this version's addon (no ${missing.join(', ')})`;
    return { why: `${why}: rebuild it (npm rebuild procsafe)` };
  }
  return { addon: addon as NativeAddon };
}
