/** parentProcess().isAlive: a pid that exists but started at another time is a later process, not the parent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setIdentity } from '../../dist/internal/identity.js';
import { asParent } from '../../dist/internal/parent-record.js';
import { procStat } from '../../dist/internal/proc.js';
import { currentProcess, parentProcess } from 'procsafe';

const kT = { timeout: 10_000 };

test('isAlive compares the start time, so a reused pid is not taken for the parent', kT, (t) => {
  if (procStat(process.pid) === undefined) {
    t.skip('no /proc: only the pid can be checked');
    return;
  }
  const self = asParent();
  assert.equal(self.name, 'MainProcess');
  assert.equal(self.startTime, procStat(process.pid)?.startTime);
  // This process stands in for the parent: its pid is alive.
  setIdentity({ name: 'child', daemon: false, parent: self });
  assert.equal(parentProcess()?.isAlive, true);
  setIdentity({ name: 'child', daemon: false, parent: { ...self, startTime: `${Number(self.startTime) - 1}` } });
  assert.equal(parentProcess()?.isAlive, false, 'same pid, earlier start: the parent is gone');
  assert.equal(currentProcess().name, 'child');
  // A child's own children are told its name.
  assert.equal(asParent().name, 'child');
});
