// sdk-echo: the plain reference server. The official TypeScript SDK's
// SSEServerTransport + McpServer with one tool, `echo`; nothing else.
// Used by integration tests and as the benchmark reference peer.
//   PORT=0 node --import ../loopback.mjs sdk-echo.mjs
import { createSsePeer, runPeer } from "./lib.mjs";

await runPeer(createSsePeer({ name: "caf-mcp-peer-sdk-echo" }));
