// post-404: GET works normally; every POST is answered 404 "Session not found".
// See post-error.mjs (POST_FAIL_COUNT=N fails only the first N POSTs).
import { runPostError } from "./post-error.mjs";

await runPostError(404);
