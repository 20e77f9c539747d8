// Preload: keep every test peer on the loopback interface.
//
//   node --import ./loopback.mjs SCRIPT...
//
// Node's net.Server#listen() binds every interface ("::" or "0.0.0.0") when no
// host is given, and @modelcontextprotocol/server-everything calls
// `app.listen(PORT)` without one. This preload patches net.Server.prototype.listen
// (http.Server, https.Server and tls.Server inherit it) so that a TCP listen()
// without an explicit host binds 127.0.0.1 (or $PEERS_LOOPBACK_HOST, which must
// itself be a loopback address). Listens with an explicit host, on a path (Unix
// socket), on a handle or on a file descriptor are left alone.
//
// When a server is listening it prints one line to stderr:
//   [loopback] listening on 127.0.0.1:PORT
// tests/peers/start.sh reads that line to learn the port of servers started
// with PORT=0 (the kernel picks a free port: no race between choosing and binding).

import net from "node:net";

const HOST = process.env.PEERS_LOOPBACK_HOST || "127.0.0.1";
if (!/^127\.\d+\.\d+\.\d+$/.test(HOST) && HOST !== "::1" && HOST !== "localhost") {
  console.error(`[loopback] refusing non-loopback PEERS_LOOPBACK_HOST=${HOST}`);
  process.exit(2);
}

const originalListen = net.Server.prototype.listen;

function isPortLike(v) {
  return typeof v === "number" || (typeof v === "string" && /^\s*\d+\s*$/.test(v));
}

function withLoopbackHost(args) {
  const a0 = args[0];
  // listen() / listen(callback): an ephemeral port on every interface.
  if (args.length === 0 || typeof a0 === "function" || a0 === undefined || a0 === null) {
    return [0, HOST, ...args.slice(a0 === undefined || a0 === null ? 1 : 0)];
  }
  // listen(port[, host][, backlog][, callback])
  if (isPortLike(a0)) {
    const a1 = args[1];
    if (typeof a1 === "string") return args; // explicit host
    if (a1 === undefined || a1 === null) return [a0, HOST, ...args.slice(2)];
    return [a0, HOST, ...args.slice(1)]; // (port, backlog, cb) or (port, cb)
  }
  // listen(options[, callback])
  if (typeof a0 === "object") {
    const isHandle = a0 instanceof net.Server || a0 instanceof net.Socket ||
      "_handle" in a0 || "fd" in a0 || "handle" in a0;
    if (isHandle || a0.path !== undefined || a0.host !== undefined) return args;
    if (a0.port === undefined) return args; // invalid anyway: let Node say so
    return [{ ...a0, host: HOST }, ...args.slice(1)];
  }
  // listen(path[, backlog][, callback]): a Unix socket, not a TCP port.
  return args;
}

net.Server.prototype.listen = function listen(...args) {
  const patched = withLoopbackHost(args);
  this.once("listening", () => {
    const a = this.address();
    if (a && typeof a === "object") {
      const host = a.family === "IPv6" || a.family === 6 ? `[${a.address}]` : a.address;
      process.stderr.write(`[loopback] listening on ${host}:${a.port}\n`);
    }
  });
  return originalListen.apply(this, patched);
};
