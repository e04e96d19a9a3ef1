/** Where a worker module's file is, for the checks made before spawning and the loader's advice. */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** tsx resolves an import of `x.js` to `x.ts` (or `x.tsx`) when only that exists, `x.mjs` to `x.mts`, `x.cjs` to `x.cts`. */
const kTypeScriptFor: Readonly<Record<string, readonly string[]>> = {
  '.js': ['.ts', '.tsx'], '.jsx': ['.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'],
};

/** The path of a file: URL, or undefined for any other URL (data: …), which is not checked. */
export function modulePath(url: string): string | undefined {
  if (!url.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(url);
  } catch {
    return undefined;
  }
}

/** The URL of the TypeScript file tsx would load for the JavaScript file `url` names, if it exists. */
export function typeScriptSibling(url: string): string | undefined {
  const path = modulePath(url);
  const extension = path === undefined ? undefined : /\.[cm]?jsx?$/.exec(path)?.[0];
  if (path === undefined || extension === undefined) return undefined;
  for (const ts of kTypeScriptFor[extension] ?? []) {
    const candidate = path.slice(0, -extension.length) + ts;
    if (existsSync(candidate)) return pathToFileURL(candidate).href;
  }
  return undefined;
}
