// A reference, not the adapter: the official TypeScript SDK 2.x client
// (@modelcontextprotocol/client, pinned in tests/peers) driving the conformance
// scenarios that run on the 2025-11-25 wire (initialize handshake). It shows
// that tests/conformance/run.sh reports PASS when a client conforms, and gives
// wire traces (the suite's checks.json) to compare caf-mcp's adapter with:
//   tests/conformance/run.sh --command tests/conformance/ts-reference-client \
//     initialize@2025-11-25 tools_call@2025-11-25 sse-retry@2025-11-25 \
//     elicitation-sep1034-client-defaults@2025-11-25 \
//     json-schema-2020-12-preservation@2025-11-25
// Other scenarios (the 2026-07-28 stateless wire) are refused with exit 2.
import { Client, StreamableHTTPClientTransport } from '../peers/node_modules/@modelcontextprotocol/client/dist/index.mjs';

const SUPPORTED = [
  'initialize',
  'tools_call',
  'elicitation-sep1034-client-defaults',
  'sse-retry',
  'json-schema-2020-12-preservation'
];
const url = process.argv[2];
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const version = process.env.MCP_CONFORMANCE_PROTOCOL_VERSION ?? '';
if (!url || !SUPPORTED.includes(scenario) || version === '2026-07-28') {
  console.error(`ts-reference-client: scenario '${scenario}' at '${version}' is not covered (only ${SUPPORTED.join(', ')} on 2025-x)`);
  process.exit(2);
}

const client = new Client(
  { name: 'caf-mcp-ts-reference', version: '2.4.0' },
  // applyDefaults: the SDK fills omitted fields from the schema's defaults (SEP-1034).
  { capabilities: { elicitation: { form: { applyDefaults: true } } } }
);
client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: {} }));
await client.connect(new StreamableHTTPClientTransport(new URL(url)));
if (scenario !== 'initialize') {
  const tools = (await client.listTools()).tools;
  for (const tool of tools) {
    let args = {};
    if (tool.name === 'add_numbers') args = { a: 2, b: 3 };
    if (tool.name === 'json_schema_2020_12_tool') continue;
    if (tool.name === 'json_schema_echo') {
      args = { schema: tools.find((t) => t.name === 'json_schema_2020_12_tool').inputSchema };
    }
    const result = await client.callTool({ name: tool.name, arguments: args });
    console.log(`${tool.name}: ${JSON.stringify(result.content)}`);
  }
}
await client.close();
