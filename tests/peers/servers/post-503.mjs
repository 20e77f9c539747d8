// post-503: GET works normally; every POST is answered 503 with
// `Retry-After: 2` and a plain-text body. See post-error.mjs
// (POST_FAIL_COUNT=N fails only the first N POSTs; RETRY_AFTER sets the header).
import { runPostError } from "./post-error.mjs";

await runPostError(503);
