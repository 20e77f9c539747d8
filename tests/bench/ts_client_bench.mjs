// Benchmark (prints numbers, asserts nothing): the official TypeScript SDK
// 2.x client (@modelcontextprotocol/client 2.4.0, pinned in tests/peers)
// calling one tool, sequentially and with N calls in flight, so caf-mcp's
// `caf-mcp bench` figures have the reference client beside them on the same
// server (issue 15 item 7; docs/transports.md "Speed").
//
//   node tests/bench/ts_client_bench.mjs URL [--transport http|sse]
//        [--tool echo] [--args '{"message":"x"}'] [--seconds 5] [--concurrency 64]
//        [--protocol 2026-07-28]   (pins the SDK to stateless MCP; default: its 2025 handshake)
//
// Prints one JSON line per run: {"transport","concurrency","calls",
// "calls_per_s","p50_us","p99_us","setup_ms","failed"}.
import { Client, StreamableHTTPClientTransport, SSEClientTransport }
  from '../peers/node_modules/@modelcontextprotocol/client/dist/index.mjs';

const argv = process.argv.slice(2);
const url = argv[0];
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
if (!url) {
  console.error('usage: ts_client_bench.mjs URL [--transport http|sse] [--tool NAME] [--args JSON] [--seconds S] [--concurrency N]');
  process.exit(2);
}
const transportName = opt('--transport', 'http');
const tool = opt('--tool', 'echo');
const args = JSON.parse(opt('--args', '{"message":"x"}'));
const seconds = Number(opt('--seconds', '5'));
const concurrency = Number(opt('--concurrency', '64'));
const protocol = opt('--protocol', '');
if (!(seconds > 0) || !(concurrency >= 1) || !['http', 'sse'].includes(transportName)) {
  console.error('bad --seconds, --concurrency or --transport');
  process.exit(2);
}

async function connect() {
  const options = protocol === '2026-07-28' ? { versionNegotiation: { mode: { pin: protocol } } } : {};
  const client = new Client({ name: 'caf-mcp-ts-bench', version: '2.4.0' }, options);
  const u = new URL(url);
  const t = transportName === 'sse' ? new SSEClientTransport(u) : new StreamableHTTPClientTransport(u);
  const t0 = process.hrtime.bigint();
  await client.connect(t);
  const setupMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return { client, setupMs };
}

async function run(k) {
  const { client, setupMs } = await connect();
  const lat = [];
  let failed = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  async function worker() {
    while (process.hrtime.bigint() < end) {
      const t0 = process.hrtime.bigint();
      try {
        await client.callTool({ name: tool, arguments: args });
        lat.push(Number(process.hrtime.bigint() - t0) / 1e3);
      } catch {
        failed++;
      }
    }
  }
  await Promise.all(Array.from({ length: k }, worker));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  lat.sort((a, b) => a - b);
  const pick = (p) => (lat.length ? Math.round(lat[Math.min(lat.length - 1, Math.round(p * (lat.length - 1)))]) : 0);
  console.log(JSON.stringify({
    transport: transportName, concurrency: k, calls: lat.length + failed,
    calls_per_s: Math.round((lat.length / secs) * 10) / 10,
    p50_us: pick(0.5), p99_us: pick(0.99), setup_ms: Math.round(setupMs * 100) / 100, failed,
  }));
  await client.close();
}

await run(1);
if (concurrency > 1) await run(concurrency);
process.exit(0);
