// The wait options live in internal/wait.ts, shared by every backend; re-exported for the broker's own modules.
export { abortError, CancelGroup, type RequestOptions, validateWait, type WaitOptions, watchWait } from '../internal/wait.js';
