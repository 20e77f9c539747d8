// other-origin: GET /sse answers 200 text/event-stream and an `endpoint` event
// whose data is an ABSOLUTE URL on another origin. A correct client resolves
// it, sees the origin differ from the SSE URL's and refuses to POST there
// (credentials must not leak to another host).
//
//   OTHER_ORIGIN_STYLE=port (default)  http://127.0.0.1:TRAP_PORT/message?sessionId=ID
//        TRAP_PORT is a second listener of this process (127.0.0.1, ephemeral
//        port): the "other origin". It answers every request 403 and records it.
//   OTHER_ORIGIN_STYLE=host            http://localhost:PORT/message?sessionId=ID
//        (same socket, but "localhost" is another origin than "127.0.0.1")
//
// GET /trap-hits (on the main port) returns JSON
//   {"hits":N,"requests":[{"method":..,"url":..,"authorization":bool}, ...]}
// so a test can assert that nothing (and no Authorization header) reached the
// other origin. The stream stays open and sends nothing after the endpoint.
// POST /message on the main port: 404 "Session not found".
import http from "node:http";
import { randomUUID } from "node:crypto";
import { createSsePeer, runPeer, HOST, POST_PATH, log } from "./lib.mjs";

const style = process.env.OTHER_ORIGIN_STYLE || "port";
const hits = [];
const open = new Set();

const trap = http.createServer((req, res) => {
  hits.push({ method: req.method, url: req.url, authorization: "authorization" in req.headers });
  console.error(`other-origin: TRAP HIT ${req.method} ${req.url}`);
  req.resume();
  res.writeHead(403, { "Content-Type": "text/plain; charset=utf-8" });
  res.end("Forbidden: this origin must never receive requests from an MCP client\n");
});
await new Promise((resolve, reject) => {
  trap.once("error", reject);
  trap.listen(0, HOST, resolve);
});
const trapPort = trap.address().port;

function onGet(req, res, ctx) {
  const sessionId = randomUUID();
  const base = style === "host" ? `http://localhost:${ctx.port}` : `http://${HOST}:${trapPort}`;
  res.writeHead(200, {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-transform",
    Connection: "keep-alive",
  });
  res.write(`event: endpoint\ndata: ${base}${POST_PATH}?sessionId=${sessionId}\n\n`);
  open.add(res);
  log("other-origin stream opened", sessionId);
  res.on("close", () => open.delete(res));
}

function routes(req, res, url) {
  if (req.method === "GET" && url.pathname === "/trap-hits") {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ hits: hits.length, requests: hits }));
    return true;
  }
  return false;
}

const peer = createSsePeer({ name: "caf-mcp-peer-other-origin", onGet, routes });
const shutdown = peer.shutdown;
peer.shutdown = async () => {
  for (const res of open) res.end();
  trap.closeAllConnections?.();
  trap.close();
  await shutdown();
};
await runPeer(peer, { extraLine: () => `trap listening on http://${HOST}:${trapPort}` });
