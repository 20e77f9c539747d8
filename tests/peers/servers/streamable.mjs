// streamable: the official TypeScript SDK 1.x StreamableHTTPServerTransport
// with McpServer, on one endpoint `/mcp`, in one of three modes (MODE env or
// argv[2]):
//   stateful   a session per initialize (sessionIdGenerator), an in-memory
//              event store (priming events, resumption with Last-Event-ID,
//              retry 100 ms), GET stream and DELETE served by the transport
//   stateless  sessionIdGenerator undefined: a new server and transport per
//              POST, no session id; GET and DELETE answer 405
//   json       stateful, enableJsonResponse: true (every answer one JSON
//              body; no SSE on POSTs)
// Tools: `echo` {message} -> "Echo: <message>"; `progress` {steps} sends
// `steps` progress notifications (when the call has a progressToken) and a
// log message before its result "done <steps>"; `poll` (stateful only) closes
// its SSE response stream right after the priming event (SDK closeSSEStream,
// 2025-11-25 polling) and answers 200 ms later, so the client must resume
// with a GET and Last-Event-ID to get the result; `cut` (stateless only)
// runs, then destroys its POST's connection before the answer (no event
// ids: the outcome is unknown to the client).
// Control (plain HTTP, for the tests' bookkeeping):
//   GET  /control/stats   {"mode","sessions","initialized","tools":{name:n},
//                          "deletes","gets","resumed"}
//   POST /control/forget  forgets every session (later requests carrying
//                          their ids get 404, as after a server restart);
//                          ?close_streams=1 also ends their GET streams
//   POST /control/notify?text=T  a log message T to every session, related
//                          to no request (it travels on the GET stream)
// Prints `listening on http://127.0.0.1:PORT/mcp` once it accepts
// connections.
//   MODE=stateful PORT=0 node --import ../loopback.mjs streamable.mjs
import { HOST, internalError, readBody, sendJson, serve } from "./plain_http.mjs";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

const PATH = "/mcp";
const MODE = process.argv[2] || process.env.MODE || "stateful";
if (!["stateful", "stateless", "json"].includes(MODE)) {
  console.error(`unknown mode ${MODE} (stateful | stateless | json)`);
  process.exit(2);
}

const stats = { mode: MODE, sessions: 0, initialized: 0, tools: {}, deletes: 0, gets: 0, resumed: 0 };
const transports = new Map(); // session id -> transport (stateful, json)
const servers = new Map(); // session id -> McpServer (stateful, json)

// Events of every stream, in order (the SDK example's in-memory store).
class EventStore {
  constructor() {
    this.events = [];
  }
  async storeEvent(streamId, message) {
    const eventId = `${streamId}_${this.events.length}`;
    this.events.push({ eventId, streamId, message });
    return eventId;
  }
  async getStreamIdForEventId(eventId) {
    return this.events.find((e) => e.eventId === eventId)?.streamId;
  }
  async replayEventsAfter(lastEventId, { send }) {
    const at = this.events.findIndex((e) => e.eventId === lastEventId);
    if (at < 0) return "";
    const streamId = this.events[at].streamId;
    stats.resumed++;
    for (const e of this.events.slice(at + 1)) {
      if (e.streamId !== streamId || !e.message || !("jsonrpc" in e.message)) continue;
      await send(e.eventId, e.message);
    }
    return streamId;
  }
}

function count(tool) {
  stats.tools[tool] = (stats.tools[tool] || 0) + 1;
}

// `res`: the HTTP response of the one POST this server serves (stateless
// mode only): the `cut` tool destroys its connection.
function makeServer(res) {
  const server = new McpServer(
    { name: `caf-mcp-peer-streamable-${MODE}`, version: "1.0.0" },
    { capabilities: { tools: {}, logging: {} } },
  );
  server.registerTool(
    "echo",
    { description: "Echoes back the input string", inputSchema: { message: z.string() } },
    async ({ message }) => {
      count("echo");
      return { content: [{ type: "text", text: `Echo: ${message}` }] };
    },
  );
  server.registerTool(
    "progress",
    { description: "Sends progress notifications, then answers", inputSchema: { steps: z.number().int().min(0).max(100) } },
    async ({ steps }, extra) => {
      count("progress");
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        if (token !== undefined)
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken: token, progress: i, total: steps },
          });
      }
      await extra.sendNotification({
        method: "notifications/message",
        params: { level: "info", data: `progress done ${steps}` },
      });
      return { content: [{ type: "text", text: `done ${steps}` }] };
    },
  );
  server.registerTool(
    "poll",
    { description: "Closes its response stream, answers 200 ms later (resumption)", inputSchema: { message: z.string() } },
    async ({ message }, extra) => {
      count("poll");
      if (extra.closeSSEStream) extra.closeSSEStream();
      await new Promise((r) => setTimeout(r, 200));
      return { content: [{ type: "text", text: `Polled: ${message}` }] };
    },
  );
  if (res) {
    server.registerTool(
      "cut",
      { description: "Runs, then cuts its POST's connection before answering (stateless only)", inputSchema: { message: z.string() } },
      async ({ message }) => {
        count("cut");
        res.socket?.destroy();
        return { content: [{ type: "text", text: `Cut: ${message}` }] };
      },
    );
  }
  return server;
}



function isInitialize(body) {
  const msgs = Array.isArray(body) ? body : [body];
  return msgs.some((m) => m && m.method === "initialize");
}

async function newSessionTransport() {
  const server = makeServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: MODE === "json",
    eventStore: MODE === "stateful" ? new EventStore() : undefined,
    retryInterval: MODE === "stateful" ? 100 : undefined,
    onsessioninitialized: (id) => {
      transports.set(id, transport);
      servers.set(id, server);
      stats.initialized++;
    },
  });
  transport.onclose = () => {
    if (transport.sessionId) {
      transports.delete(transport.sessionId);
      servers.delete(transport.sessionId);
    }
  };
  stats.sessions++;
  await server.connect(transport);
  return transport;
}

async function handleMcp(req, res) {
  const sid = req.headers["mcp-session-id"];
  if (MODE === "stateless") {
    if (req.method !== "POST") {
      sendJson(res, 405, { jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed." }, id: null }, { Allow: "POST" });
      return;
    }
    const body = JSON.parse(await readBody(req));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    const server = makeServer(res);
    res.on("close", () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    return;
  }
  if (req.method === "GET") stats.gets++;
  if (req.method === "DELETE") stats.deletes++;
  if (sid !== undefined) {
    const transport = transports.get(sid);
    if (!transport) {
      sendJson(res, 404, { jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null });
      return;
    }
    const body = req.method === "POST" ? JSON.parse(await readBody(req)) : undefined;
    await transport.handleRequest(req, res, body);
    return;
  }
  if (req.method !== "POST") {
    sendJson(res, 400, { jsonrpc: "2.0", error: { code: -32000, message: "Bad Request: Mcp-Session-Id required" }, id: null });
    return;
  }
  const body = JSON.parse(await readBody(req));
  if (!isInitialize(body)) {
    sendJson(res, 400, { jsonrpc: "2.0", error: { code: -32000, message: "Bad Request: No valid session ID provided" }, id: null });
    return;
  }
  const transport = await newSessionTransport();
  await transport.handleRequest(req, res, body);
}

async function handler(req, res) {
  const url = new URL(req.url, `http://${HOST}`);
  try {
    if (url.pathname === "/control/stats" && req.method === "GET") {
      sendJson(res, 200, { ...stats, open: transports.size });
      return;
    }
    if (url.pathname === "/control/notify" && req.method === "POST") {
      // A log message to every session, related to no request: it goes
      // out on the session's GET stream (if it has one open).
      const text = url.searchParams.get("text") || "notify";
      let sent = 0;
      for (const server of servers.values()) {
        try {
          await server.server.notification({ method: "notifications/message", params: { level: "info", data: text } });
          sent++;
        } catch {
          /* not connected */
        }
      }
      sendJson(res, 200, { sent });
      return;
    }
    if (url.pathname === "/control/forget" && req.method === "POST") {
      const all = [...transports.values()];
      servers.clear();
      transports.clear();
      for (const t of all) t.onclose = undefined;
      // ?close_streams=1: also end the sessions' GET streams (as a
      // restarting server would); the clients reconnect and get 404.
      if (url.searchParams.get("close_streams") === "1")
        for (const t of all) t.closeStandaloneSSEStream();
      sendJson(res, 200, { forgotten: all.length });
      return;
    }
    if (url.pathname === PATH) {
      await handleMcp(req, res);
      return;
    }
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("Not found\n");
  } catch (err) {
    internalError(req, res, err);
  }
}

serve(handler, PATH);
