// no-endpoint: GET /sse answers 200 text/event-stream, flushes the headers and
// then sends nothing at all, ever: no endpoint event, no comment. The
// connection stays open until the client closes it (or the server stops).
// POST /message: 404 "Session not found" (there is no session).
import { createSsePeer, runPeer, log } from "./lib.mjs";

const open = new Set();

function onGet(req, res) {
  res.writeHead(200, {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-transform",
    Connection: "keep-alive",
  });
  res.flushHeaders();
  open.add(res);
  log("silent stream opened");
  res.on("close", () => open.delete(res));
}

const peer = createSsePeer({ name: "caf-mcp-peer-no-endpoint", onGet });
// The silent streams have no transport, so close them on shutdown ourselves.
const shutdown = peer.shutdown;
peer.shutdown = async () => {
  for (const res of open) res.end();
  await shutdown();
};
await runPeer(peer);
