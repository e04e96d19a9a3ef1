// Floor for roundtrip.mjs: reads fd 3 (a socketpair end) and echoes each chunk, unchanged, on fd 4.
import { writeSync } from 'node:fs';
import net from 'node:net';

const input = new net.Socket({ fd: 3, readable: true, writable: false });
input.on('data', (chunk) => {
  let off = 0;
  while (off < chunk.length) {
    try {
      off += writeSync(4, chunk, off);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
});
input.on('end', () => process.exit(0));
