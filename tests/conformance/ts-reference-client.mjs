// A reference, not the adapter: the official TypeScript SDK 2.x client
// (@modelcontextprotocol/client 2.4.0, pinned in tests/peers) doing what each
// conformance scenario asks. It shows that tests/conformance/run.sh reports
// PASS when a client conforms (all 13 default runs pass with it), and its
// results (checks.json: the headers and bodies the test servers saw) are wire
// traces to compare caf-mcp's adapter with:
//   tests/conformance/run.sh --command tests/conformance/ts-reference-client
// The protocol era comes from MCP_CONFORMANCE_PROTOCOL_VERSION: 2026-07-28 pins
// the SDK to the stateless revision (versionNegotiation), anything else is the
// SDK's default 2025 initialize handshake.
import { Client, StreamableHTTPClientTransport } from '../peers/node_modules/@modelcontextprotocol/client/dist/index.mjs';

const url = process.argv[2];
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const version = process.env.MCP_CONFORMANCE_PROTOCOL_VERSION ?? '';
const context = process.env.MCP_CONFORMANCE_CONTEXT ? JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT) : {};
if (!url) {
  console.error('usage: ts-reference-client URL (run by the conformance suite)');
  process.exit(2);
}

// applyDefaults: the SDK fills fields the handler leaves out from the schema's
// defaults (SEP-1034); the handler accepts with only `confirmed` (MRTR).
const options = { capabilities: { elicitation: { form: { applyDefaults: true } } } };
if (version === '2026-07-28') options.versionNegotiation = { mode: { pin: '2026-07-28' } };
const client = new Client({ name: 'caf-mcp-ts-reference', version: '2.4.0' }, options);
client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { confirmed: true } }));
await client.connect(new StreamableHTTPClientTransport(new URL(url)));

// A failing call is printed, not fatal: the scenario's checks judge it.
async function call(name, args) {
  try {
    const result = await client.callTool({ name, arguments: args });
    console.log(`${name}: ${JSON.stringify(result.content)}`);
  } catch (e) {
    console.log(`${name}: error: ${e.message}`);
  }
}

if (scenario === 'initialize') {
  // the handshake is the test
} else if (scenario === 'json-schema-ref-no-deref') {
  console.log((await client.listTools()).tools.map((t) => t.name).join(','));
} else if (scenario === 'http-custom-headers') {
  await client.listTools(); // the x-mcp-header annotations
  for (const c of context.toolCalls ?? []) await call(c.name, c.arguments);
} else if (scenario === 'http-standard-headers') {
  for (const t of (await client.listTools()).tools) await call(t.name, {});
  for (const r of (await client.listResources()).resources) await client.readResource({ uri: r.uri });
  for (const p of (await client.listPrompts()).prompts) await client.getPrompt({ name: p.name });
} else {
  // Call every tool the client kept (invalid x-mcp-header tools are dropped).
  const tools = (await client.listTools()).tools;
  for (const tool of tools) {
    let args = {};
    if (tool.name === 'add_numbers') args = { a: 2, b: 3 };
    if (tool.name === 'valid_tool') args = { region: 'us-west1' };
    if (tool.name === 'json_schema_2020_12_tool') continue;
    if (tool.name === 'json_schema_echo') {
      args = { schema: tools.find((t) => t.name === 'json_schema_2020_12_tool').inputSchema };
    }
    await call(tool.name, args);
  }
}
await client.close();
