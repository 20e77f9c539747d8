// Shared pieces of the caf-mcp test peers: an McpServer with an `echo` tool,
// and an SSE app on Node's http/https module that follows the SDK's own
// example (dist/esm/examples/server/simpleSseServer.js): one SSEServerTransport
// and one McpServer per GET /sse, POSTs routed by ?sessionId=.
//
// Every server listens on 127.0.0.1 only, takes its port from $PORT (0 or
// unset: the kernel picks one) and prints exactly one line to stdout once it
// accepts connections:
//   listening on http://127.0.0.1:PORT/sse      (https://... for https.mjs)

import http from "node:http";
import https from "node:https";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { z } from "zod";

export const HOST = "127.0.0.1";
export const SSE_PATH = "/sse";
export const POST_PATH = "/message";

const VERBOSE = process.env.PEERS_VERBOSE === "1";
export function log(...args) {
  if (VERBOSE) console.error(`[${new Date().toISOString()}]`, ...args);
}

// The McpServer of one session: one tool, `echo`, answering like the echo
// tool of server-everything ("Echo: <message>").
export function makeMcpServer(name) {
  const server = new McpServer({ name, version: "1.0.0" }, { capabilities: { tools: {} } });
  server.registerTool(
    "echo",
    {
      title: "Echo Tool",
      description: "Echoes back the input string",
      inputSchema: { message: z.string().describe("Message to echo") },
    },
    async ({ message }) => ({ content: [{ type: "text", text: `Echo: ${message}` }] }),
  );
  return server;
}

export function sendText(res, status, text, headers = {}) {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", ...headers });
  res.end(text.endsWith("\n") ? text : `${text}\n`);
}

// Creates the HTTP(S) server of a peer.
//   name        server name reported in initialize
//   tls         {key, cert} for https, or undefined for http
//   guard(req, res, kind)   optional: return true when it answered the request
//                           itself (kind is "get" or "post")
//   onGet(req, res, ctx)    optional: replaces the normal GET /sse handling
//   onPost(req, res, ctx)   optional: replaces the normal POST /message handling
//   routes(req, res, url)   optional: extra routes; return true when handled
// Returns {server, transports, listen()}; listen() resolves with the port.
export function createSsePeer({ name, tls, guard, onGet, onPost, routes } = {}) {
  const transports = new Map(); // sessionId -> SSEServerTransport

  async function normalGet(req, res) {
    const transport = new SSEServerTransport(POST_PATH, res);
    const sessionId = transport.sessionId;
    transports.set(sessionId, transport);
    transport.onclose = () => {
      transports.delete(sessionId);
      log("session closed", sessionId);
    };
    const server = makeMcpServer(name);
    await server.connect(transport); // calls transport.start(): headers + endpoint event
    log("session opened", sessionId);
  }

  async function normalPost(req, res, url) {
    const sessionId = url.searchParams.get("sessionId");
    if (!sessionId) {
      sendText(res, 400, "Missing sessionId parameter");
      return;
    }
    const transport = transports.get(sessionId);
    if (!transport) {
      sendText(res, 404, "Session not found");
      return;
    }
    await transport.handlePostMessage(req, res);
  }

  const ctx = { transports, normalGet, normalPost, port: 0, origin: "" };

  async function handler(req, res) {
    const url = new URL(req.url, `${tls ? "https" : "http"}://${HOST}`);
    try {
      if (routes && (await routes(req, res, url, ctx))) return;
      if (req.method === "GET" && url.pathname === SSE_PATH) {
        if (guard && guard(req, res, "get")) return;
        await (onGet ? onGet(req, res, ctx, url) : normalGet(req, res, url));
        return;
      }
      if (req.method === "POST" && url.pathname === POST_PATH) {
        if (guard && guard(req, res, "post")) return;
        await (onPost ? onPost(req, res, ctx, url) : normalPost(req, res, url));
        return;
      }
      sendText(res, 404, "Not found");
    } catch (err) {
      console.error(`error handling ${req.method} ${req.url}:`, err);
      if (!res.headersSent) sendText(res, 500, "Internal server error");
      else res.end();
    }
  }

  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  // Many sequential POSTs on keep-alive connections (benchmarks): no idle cap
  // that is shorter than the client's.
  server.keepAliveTimeout = 60_000;

  function listen(port = Number(process.env.PORT || 0)) {
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, HOST, () => {
        ctx.port = server.address().port;
        ctx.origin = `${tls ? "https" : "http"}://${HOST}:${ctx.port}`;
        resolve(ctx.port);
      });
    });
  }

  async function shutdown() {
    for (const t of transports.values()) {
      try {
        await t.close();
      } catch {
        /* already gone */
      }
    }
    server.closeAllConnections?.();
    server.close();
  }

  return { server, ctx, transports, listen, shutdown };
}

// Standard main(): listen, print the line start.sh waits for, exit on signals.
export async function runPeer(peer, { scheme = "http", extraLine } = {}) {
  const port = await peer.listen();
  for (const sig of ["SIGTERM", "SIGINT"]) {
    process.on(sig, () => {
      peer.shutdown().finally(() => process.exit(0));
      setTimeout(() => process.exit(0), 1000).unref();
    });
  }
  if (extraLine) console.log(extraLine(port));
  console.log(`listening on ${scheme}://${HOST}:${port}${SSE_PATH}`);
  return port;
}
