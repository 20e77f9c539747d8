// https: sdk-echo over TLS. The certificate comes from make-certs.sh:
//   CERT_DIR=DIR  reads DIR/server.key and DIR/server.crt (signed by DIR/ca.crt,
//                 SAN IP:127.0.0.1 and DNS:localhost)
import fs from "node:fs";
import path from "node:path";
import { createSsePeer, runPeer } from "./lib.mjs";

const dir = process.env.CERT_DIR;
if (!dir) {
  console.error("https.mjs: set CERT_DIR to a directory made by tests/peers/make-certs.sh");
  process.exit(2);
}
const tls = {
  key: fs.readFileSync(path.join(dir, "server.key")),
  cert: fs.readFileSync(path.join(dir, "server.crt")),
};
await runPeer(createSsePeer({ name: "caf-mcp-peer-https", tls }), { scheme: "https" });
