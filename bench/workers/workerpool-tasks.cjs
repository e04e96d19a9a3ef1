// Worker module for workerpool (process and thread workers): CJS, registered with workerpool.worker().
'use strict';
const { writeFileSync } = require('node:fs');
const workerpool = require('workerpool');

workerpool.worker({
  inc(x) { return x + 1; },
  echo(buf) { return buf; },
  pid() { return process.pid; },
  pidThenHang(path) {
    writeFileSync(path, String(process.pid));
    return new Promise(() => { setInterval(() => {}, 1000); });
  },
});
