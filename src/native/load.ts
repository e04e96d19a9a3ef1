/**
 * The native addon (native/procsafe.c), loaded on first use and never at import: procsafe imports and works without it
 * (SharedArray alone needs it). Where it cannot load (not Linux, no binary built or prebuilt, PROCSAFE_NATIVE=0), the
 * reason is kept, for the error of whatever needed it, and told once per thread as a warning (code PROCSAFE_NATIVE).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What the addon exports: mapping files of /dev/shm, nothing else. */
export interface NativeAddon {
  /** A new file (O_EXCL, 0600, its memory reserved: ENOSPC now rather than SIGBUS later) or an existing one of exactly `bytes`. */
  map(path: string, bytes: number, create: boolean): ArrayBuffer;
  /** False if the file was already gone. */
  unlink(path: string): boolean;
}

type Loaded = { readonly addon: NativeAddon } | { readonly why: string };

let loaded: Loaded | undefined;
let warned = false;

/** The addon, or undefined (and one warning per thread) where it cannot load: see nativeUnavailable() for why. */
export function loadNative(): NativeAddon | undefined {
  loaded ??= attempt();
  if ('addon' in loaded) return loaded.addon;
  if (!warned) {
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
  if (typeof addon.map !== 'function' || typeof addon.unlink !== 'function') {
    return { why: `the binary found under ${root} is not procsafe's addon (no map/unlink): rebuild it (npm rebuild procsafe)` };
  }
  return { addon: addon as NativeAddon };
}
