/**
 * The Lua scripts, one named file each under scripts/ (`put-7.lua`: the name, then how many KEYS it takes), copied
 * beside the compiled code by scripts/copy-assets.mjs. `lib.lua` holds what several share and is put in front of each.
 * ioredis runs them by SHA and sends the source again when a restarted server no longer has it (NOSCRIPT).
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { RedisClient } from './connection.js';

export type ScriptName = 'init' | 'put' | 'get' | 'ack' | 'release' | 'task-done' | 'close' | 'stats' | 'renew'
  | 'pool-submit' | 'pool-work' | 'pool-register' | 'pool-leave' | 'pool-reclaim';

const kDir = new URL('./scripts/', import.meta.url);

interface Loaded {
  readonly command: string;
  readonly keys: number;
}

export class Scripts {
  readonly #loaded: ReadonlyMap<string, Loaded>;
  constructor(loaded: ReadonlyMap<string, Loaded>) { this.#loaded = loaded; }

  /** Runs script `name`; with `buffers`, every string of the reply comes back as a Buffer (items are bytes). */
  run(client: RedisClient, name: ScriptName, keys: readonly string[], args: readonly (string | number | Buffer)[],
    buffers = false): Promise<unknown> {
    const script = this.#loaded.get(name);
    if (script === undefined) throw new Error(`procsafe: no Lua script named ${name} in ${kDir.pathname}`);
    if (keys.length !== script.keys) throw new Error(`procsafe: script ${name} takes ${script.keys} keys, given ${keys.length}`);
    const command = (client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
      buffers ? `${script.command}Buffer` : script.command];
    return (command as (...a: unknown[]) => Promise<unknown>).call(client, ...keys, ...args);
  }
}

let sources: Map<string, { keys: number; lua: string }> | undefined;

/** Reads the files once per thread. */
function readSources(): Map<string, { keys: number; lua: string }> {
  if (sources !== undefined) return sources;
  const lib = readFileSync(new URL('lib.lua', kDir), 'utf8');
  // A pool's scripts share pool-lib.lua as well (its keys, records and the takeover of dead hosts' tasks).
  const poolLib = readFileSync(new URL('pool-lib.lua', kDir), 'utf8');
  sources = new Map();
  for (const file of readdirSync(kDir)) {
    const match = /^([a-z-]+)-(\d+)\.lua$/.exec(file);
    if (match === null) continue;
    const [, name, keys] = match as unknown as [string, string, string];
    const shared = name.startsWith('pool-') ? `${lib}\n${poolLib}` : lib;
    sources.set(name, { keys: Number(keys), lua: `${shared}\n${readFileSync(new URL(file, kDir), 'utf8')}` });
  }
  return sources;
}

/** Defines every script on `client` as a command of its own. */
export function loadScripts(client: RedisClient): Scripts {
  const loaded = new Map<string, Loaded>();
  for (const [name, { keys, lua }] of readSources()) {
    const command = `procsafe_${name.replace(/-/g, '_')}`;
    client.defineCommand(command, { numberOfKeys: keys, lua });
    loaded.set(name, { command, keys });
  }
  return new Scripts(loaded);
}
