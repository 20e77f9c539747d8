// Checks loopback.mjs: run as  node --import ./loopback.mjs loopback-test.mjs
// Every form of listen() without a host must end up on 127.0.0.1; an explicit
// host is kept. Prints one line per case and "N passed, N failed".
import net from "node:net";
import http from "node:http";

const cases = [
  ["listen()", (s, cb) => { s.once("listening", cb); s.listen(); }],
  ["listen(cb)", (s, cb) => s.listen(cb)],
  ["listen(0)", (s, cb) => { s.once("listening", cb); s.listen(0); }],
  ["listen(0, cb)", (s, cb) => s.listen(0, cb)],
  ['listen("0", cb)', (s, cb) => s.listen("0", cb)],
  ["listen(0, 511, cb)", (s, cb) => s.listen(0, 511, cb)],
  ["listen(0, undefined, cb)", (s, cb) => s.listen(0, undefined, cb)],
  ["listen({port: 0}, cb)", (s, cb) => s.listen({ port: 0 }, cb)],
  ["listen({port: 0, backlog: 5}, cb)", (s, cb) => s.listen({ port: 0, backlog: 5 }, cb)],
  ["http listen(0, cb)", (s, cb) => s.listen(0, cb), () => http.createServer()],
  ['listen(0, "127.0.0.1", cb) kept', (s, cb) => s.listen(0, "127.0.0.1", cb)],
  ['listen({port: 0, host: "localhost"}) kept', (s, cb) => s.listen({ port: 0, host: "localhost" }, cb), null, ["127.0.0.1", "::1"]],
];

let passed = 0, failed = 0;
for (const [name, fn, make, allowed = ["127.0.0.1"]] of cases) {
  const server = make ? make() : net.createServer();
  const addr = await new Promise((resolve, reject) => {
    server.once("error", reject);
    fn(server, () => resolve(server.address()));
  }).catch((e) => ({ address: `error: ${e.message}` }));
  const ok = allowed.includes(addr.address);
  ok ? passed++ : failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}: ${addr.address}:${addr.port}`);
  await new Promise((r) => server.close(r));
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
