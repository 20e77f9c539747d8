// other-credentials: a normal SDK session (SSEServerTransport + McpServer with
// `echo`), but the `endpoint` event is an ABSOLUTE same-origin URL that
// carries credentials of its own:
//   http://alice:s3cret@127.0.0.1:PORT/message?sessionId=ID
// Same scheme, host and port as the SSE URL, so a client must accept it; the
// POSTs then need those credentials: every POST /message without exactly
// `Authorization: Basic base64(alice:s3cret)` is answered 401
// (`WWW-Authenticate: Basic realm="caf-mcp-test"`, a plain-text body without
// secrets). GET /sse needs no credentials (whatever it carries is recorded).
//
// Query parameters of GET /sse, for the error paths:
//   ?as=USER          the endpoint names USER:s3cret instead (USER: [a-z]{1,16});
//                     its POSTs are refused unless USER is alice
//   ?host=localhost   the endpoint names http://alice:s3cret@localhost:PORT/...
//                     (another origin by host name: a client must refuse it)
//
// What each request carried is recorded as a label, never the secret:
//   "none"         no Authorization header
//   "alice"        Basic with alice:s3cret (the only one a POST is served with)
//   "basic:USER"   Basic with anything else (USER as sent if it is a plain
//                  name, else "?"); the password is never recorded
//   "bearer", "other"   other schemes
// GET /seen?client=NAME returns JSON about the sessions whose `initialize`
// POST (accepted or not) named clientInfo.name NAME; without `client`, about
// every session:
//   {"sessions":N,"gets":{LABEL:count},"posts":[{"method","auth","status"}]}
// (method: the JSON-RPC method, "response" for a response, null if the body
// was not JSON). At most 1000 sessions are remembered (oldest dropped).
// Nothing here prints a credential: stdout has only the `listening on` line.
import { createSsePeer, runPeer, sendText, HOST, POST_PATH, log } from "./lib.mjs";

const USER = "alice";
const PASSWORD = "s3cret";
const EXPECTED = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
const MAX_SESSIONS = 1000;
const MAX_BODY = 4 * 1024 * 1024;

/// sessionId -> {client, get, posts: [{method, auth, status}]}
const sessions = new Map();

function label(authorization) {
  if (authorization === undefined) return "none";
  const m = /^(\S+)\s+(.*)$/.exec(authorization.trim());
  const scheme = (m ? m[1] : authorization).toLowerCase();
  if (scheme === "bearer") return "bearer";
  if (scheme !== "basic" || !m) return "other";
  if (authorization.trim() === EXPECTED) return "alice";
  const decoded = Buffer.from(m[2], "base64").toString("utf8");
  const user = decoded.split(":", 1)[0];
  return `basic:${/^[A-Za-z0-9._-]{1,32}$/.test(user) ? user : "?"}`;
}

function remember(sessionId, record) {
  sessions.set(sessionId, record);
  while (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value);
}

async function onGet(req, res, ctx, url) {
  const user = url.searchParams.get("as") ?? USER;
  const host = url.searchParams.get("host") ?? HOST;
  if (!/^[a-z]{1,16}$/.test(user) || (host !== HOST && host !== "localhost")) {
    sendText(res, 400, "Bad Request: as=[a-z]{1,16}, host=127.0.0.1 or localhost");
    return;
  }
  const base = `http://${user}:${PASSWORD}@${host}:${ctx.port}`;
  const get = label(req.headers.authorization);
  // SSEServerTransport.start() writes the endpoint relative (path and query)
  // as its first write: make exactly that one absolute, with the credentials.
  const write = res.write;
  res.write = function (chunk, ...rest) {
    res.write = write;
    const text = String(chunk);
    const prefix = `event: endpoint\ndata: ${POST_PATH}?`;
    if (!text.startsWith(prefix)) {
      throw new Error("other-credentials: the SDK's first write is not the endpoint event");
    }
    const sessionId = new URLSearchParams(text.slice(prefix.length).trim()).get("sessionId");
    remember(sessionId, { client: null, get, posts: [] });
    log("other-credentials session", sessionId, "GET auth", get);
    return write.call(this, text.replace("data: ", `data: ${base}`), ...rest);
  };
  await ctx.normalGet(req, res, url);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function onPost(req, res, ctx, url) {
  const auth = label(req.headers.authorization);
  const sessionId = url.searchParams.get("sessionId");
  const body = await readBody(req);
  let method = null;
  let client = null;
  try {
    const msg = JSON.parse(body);
    if (msg && typeof msg === "object" && !Array.isArray(msg)) {
      if (typeof msg.method === "string") method = msg.method;
      else if ("result" in msg || "error" in msg) method = "response";
      if (method === "initialize") client = String(msg.params?.clientInfo?.name ?? "");
    }
  } catch {
    /* not JSON: recorded with method null, the SDK answers 400 */
  }
  const record = sessionId ? sessions.get(sessionId) : undefined;
  const entry = { method, auth, status: 0 };
  if (record) {
    if (client !== null && record.client === null) record.client = client;
    record.posts.push(entry);
  }
  if (auth !== "alice") {
    entry.status = 401;
    sendText(res, 401, "Unauthorized: POST needs the credentials of the endpoint URL", {
      "WWW-Authenticate": 'Basic realm="caf-mcp-test"',
    });
    return;
  }
  if (!sessionId) {
    entry.status = 400;
    sendText(res, 400, "Missing sessionId parameter");
    return;
  }
  const transport = ctx.transports.get(sessionId);
  if (!transport) {
    entry.status = 404;
    sendText(res, 404, "Session not found");
    return;
  }
  await transport.handlePostMessage(req, res, body);
  entry.status = res.statusCode;
}

function routes(req, res, url) {
  if (req.method !== "GET" || url.pathname !== "/seen") return false;
  const client = url.searchParams.get("client");
  const gets = {};
  const posts = [];
  let n = 0;
  for (const s of sessions.values()) {
    if (client !== null && s.client !== client) continue;
    n += 1;
    gets[s.get] = (gets[s.get] ?? 0) + 1;
    posts.push(...s.posts);
  }
  const body = JSON.stringify({ sessions: n, gets, posts });
  res.writeHead(200, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
  return true;
}

await runPeer(createSsePeer({ name: "caf-mcp-peer-other-credentials", onGet, onPost, routes }));
