// node:http pieces shared by the Streamable HTTP peers (streamable.mjs on
// the SDK 1.x, ts2.mjs on the SDK 2.x). No SDK import: both Node runtimes
// (Debian's and the pinned Node 22) load it.
import http from "node:http";

export const HOST = "127.0.0.1";

export function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/// The request body as a Buffer.
export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/// A handler failed: 500 with a JSON-RPC internal error if nothing was sent
/// yet, else the response ends where it is.
export function internalError(req, res, err) {
  console.error(`error handling ${req.method} ${req.url}:`, err);
  if (!res.headersSent)
    sendJson(res, 500, { jsonrpc: "2.0", error: { code: -32603, message: "Internal server error" }, id: null });
  else res.end();
}

/// Listens on HOST:$PORT (0: any), prints the line start.sh waits for, and
/// on SIGTERM/SIGINT closes every connection, runs `onStop` and exits.
export function serve(handler, path, onStop = () => {}) {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  server.listen(Number(process.env.PORT || 0), HOST, () => {
    console.log(`listening on http://${HOST}:${server.address().port}${path}`);
  });
  for (const sig of ["SIGTERM", "SIGINT"]) {
    process.on(sig, () => {
      server.closeAllConnections?.();
      server.close();
      onStop();
      process.exit(0);
    });
  }
  return server;
}
