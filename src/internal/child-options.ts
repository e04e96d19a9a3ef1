/** Checks Pool and Process make of their children's options before anything is spawned. */
import { existsSync } from 'node:fs';
import { modulePath, typeScriptSibling } from './module-file.js';
import { validateObject } from './validate.js';

/** Refuses a missing module file before every child fails to import it; a `.js` with a `.ts` sibling passes (tsx names it so). */
export function checkModuleFile(url: string, name = 'module'): void {
  const path = modulePath(url);
  if (path === undefined || existsSync(path) || typeScriptSibling(url) !== undefined) return;
  throw new TypeError(
    `Expected \`${name}\` to name an existing file, but there is no such file ${path}; check the name and folder: ` +
    "new URL('./tasks.js', import.meta.url) names tasks.js beside the module that calls it");
}

/** A child's environment: every value must be a string, as the child will see it (Node would turn 5 into '5' silently). */
export function validateEnv(env: unknown, name = 'env'): asserts env is Readonly<Record<string, string>> {
  validateObject(env, name);
  for (const [key, value] of Object.entries(env)) {
    if (typeof value !== 'string') {
      throw new TypeError(`Expected \`${name}.${key}\` to be a string, got ${value === null ? 'null' : typeof value}; ` +
        `write ${JSON.stringify(key)}: String(value), or leave the key out`);
    }
  }
}
