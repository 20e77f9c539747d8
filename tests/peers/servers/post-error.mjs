// post-error: GET /sse works normally (a real SDK session, endpoint event
// included), but POST /message is answered with an error instead of being
// handed to the session:
//   POST_STATUS=404  404 "Session not found" (text/plain), as the SDK example
//                    server answers for an unknown session id
//   POST_STATUS=503  503 with `Retry-After: 2` ($RETRY_AFTER) and a plain-text body
// POST_FAIL_COUNT=N  only the first N POSTs fail, later ones are served
//                    normally (default: every POST fails).
// post-404.mjs and post-503.mjs import this file with the status set.
import { pathToFileURL } from "node:url";
import { createSsePeer, runPeer, sendText } from "./lib.mjs";

export async function runPostError(status) {
  const retryAfter = process.env.RETRY_AFTER || "2";
  const failCount =
    process.env.POST_FAIL_COUNT !== undefined && process.env.POST_FAIL_COUNT !== ""
      ? Number(process.env.POST_FAIL_COUNT)
      : Infinity;
  let failed = 0;

  async function onPost(req, res, ctx, url) {
    if (failed >= failCount) {
      await ctx.normalPost(req, res, url);
      return;
    }
    failed += 1;
    req.resume(); // drain the request body
    if (status === 503) {
      sendText(res, 503, "Service Unavailable: the server is overloaded, retry later", {
        "Retry-After": retryAfter,
      });
    } else {
      sendText(res, status, status === 404 ? "Session not found" : `Error ${status}`);
    }
  }

  await runPeer(createSsePeer({ name: `caf-mcp-peer-post-${status}`, onPost }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runPostError(Number(process.env.POST_STATUS || 404));
}
