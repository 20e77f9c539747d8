// bearer: like sdk-echo, but GET /sse and POST /message both require
//   Authorization: Bearer test-token      ($BEARER_TOKEN overrides the token)
// Anything else gets 401, `WWW-Authenticate: Bearer realm="caf-mcp-test"` and
// a plain-text body.
import { createSsePeer, runPeer, sendText } from "./lib.mjs";

const TOKEN = process.env.BEARER_TOKEN || "test-token";

function guard(req, res, kind) {
  if (req.headers.authorization === `Bearer ${TOKEN}`) return false;
  const why = req.headers.authorization ? "invalid bearer token" : "missing bearer token";
  sendText(res, 401, `Unauthorized: ${why} on ${kind.toUpperCase()}`, {
    "WWW-Authenticate": 'Bearer realm="caf-mcp-test"',
  });
  return true;
}

await runPeer(createSsePeer({ name: "caf-mcp-peer-bearer", guard }));
