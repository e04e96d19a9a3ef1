/** This file's package root (dist/ or src/): frames under it are procsafe's own. */
const kOurs = new URL('../../', import.meta.url).href;

/** A worker's stack less the frames of Node and of procsafe itself: what is left is the user's code. */
export function userFrames(stack: string): string {
  return stack.split('\n').filter((line) => !/^\s+at /.test(line) || !(line.includes('(node:') || line.includes(' node:') || line.includes(kOurs))).join('\n');
}
