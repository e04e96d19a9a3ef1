/**
 * Runs the seeds' reproductions against Python's multiprocessing, live
 * (python/seeds.py), for the Python column of `procsafe demo`.
 *
 * The script says, before each call that may never return, what it is about to
 * wait in; if it is still there `hangMs` later, the whole process group (the
 * script and its multiprocessing children) is SIGKILLed and the row reads
 * "… hung (stopped after N s)". Every word of a cell comes from the run.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { forEachLine } from '../../process/output.js';

/** Copied beside this file by the build (scripts/copy-assets.mjs). */
const kScript = fileURLToPath(new URL('./python/seeds.py', import.meta.url));

export interface PythonRun {
  /** The cell: what Python's multiprocessing did, or why it was not run. */
  readonly cell: string;
  /** false when there is no Python to run, or the run was interrupted. */
  readonly ran: boolean;
}

export interface PythonOptions {
  /** How long a call the script announced may wait before it counts as hung. */
  readonly hangMs: number;
  /** A bound on the whole script, setup included. */
  readonly capMs: number;
  readonly interrupt: AbortSignal;
  /** The interpreter: PROCSAFE_DEMO_PYTHON, else python3 on the PATH. */
  readonly python: string;
}

type Line = { note: string } | { waiting: string } | { result: string };

export function pythonCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env['PROCSAFE_DEMO_PYTHON'] ?? 'python3';
}

export function runPython(name: string, options: PythonOptions): Promise<PythonRun> {
  return new Promise((resolve) => {
    const notes: string[] = [];
    let waitingIn: string | undefined;
    let result: string | undefined;
    let stopped: 'hang' | 'cap' | 'interrupt' | undefined;
    let stderr = '';
    // Its own process group, so that the stop reaches the multiprocessing children too.
    const child = spawn(options.python, ['-u', kScript, name], {
      stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    const stop = (why: 'hang' | 'cap' | 'interrupt') => {
      stopped ??= why;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    };
    let hangTimer: NodeJS.Timeout | undefined;
    const capTimer = setTimeout(() => stop('cap'), options.capMs);
    const onInterrupt = () => stop('interrupt');
    options.interrupt.addEventListener('abort', onInterrupt, { once: true });
    // Leaves no multiprocessing child behind if the demo itself exits first.
    const onExit = () => stop('interrupt');
    process.once('exit', onExit);

    forEachLine(child.stdout, (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        return; // a user's sitecustomize printing something: not ours
      }
      // Any line means the announced call returned: only a new `waiting` starts the clock again.
      clearTimeout(hangTimer);
      if ('note' in line) notes.push(line.note);
      else if ('result' in line) result = line.result;
      else if ('waiting' in line) {
        waitingIn = line.waiting;
        hangTimer = setTimeout(() => stop('hang'), options.hangMs);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-2000); });
    const finish = (run: PythonRun) => {
      clearTimeout(hangTimer);
      clearTimeout(capTimer);
      options.interrupt.removeEventListener('abort', onInterrupt);
      process.removeListener('exit', onExit);
      resolve(run);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      finish({ cell: error.code === 'ENOENT' ? `not run (${options.python} not found)` : `not run (${error.message})`, ran: false });
    });
    // 'close' waits for every holder of the script's stdout: a child that left the process group
    // would keep it open for ever. Conclude at most a moment after the script itself exited.
    let concluded = false;
    child.on('exit', (code, signal) => { setTimeout(() => conclude(code, signal), 200); });
    child.on('close', (code, signal) => conclude(code, signal));
    const conclude = (code: number | null, signal: NodeJS.Signals | null) => {
      if (concluded) return;
      concluded = true;
      child.stdout.destroy();
      child.stderr.destroy();
      if (stopped === 'interrupt') return finish({ cell: 'interrupted', ran: false });
      // A no-break space: a table cell wrapped at spaces keeps "2 s" on one line.
      const seconds = `${(stopped === 'cap' ? options.capMs : options.hangMs) / 1000}\u00a0s`;
      let outcome: string;
      if (stopped === 'hang') outcome = `${waitingIn} hung (stopped after ${seconds})`;
      else if (stopped === 'cap') outcome = `did not finish (stopped after ${seconds})`;
      else if (result !== undefined) outcome = result;
      else {
        const last = stderr.trim().split('\n').pop() ?? '';
        outcome = `the script ended without a result (${signal ?? `exit code ${code}`})${last === '' ? '' : `: ${last}`}`;
      }
      // A hang leads (it is what the row is about); otherwise the story in order, then how it ended.
      finish({ cell: (stopped === 'hang' ? [outcome, ...notes] : [...notes, outcome]).join('; '), ran: true });
    };
  });
}
