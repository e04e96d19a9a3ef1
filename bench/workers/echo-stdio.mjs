// Ceiling for payload.mjs: a bare child that writes back on stdout every byte it reads on stdin.
process.stdin.pipe(process.stdout);
