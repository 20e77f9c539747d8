#pragma once

/// The JSON-level rules of stateless MCP (revision 2026-07-28): the
/// per-request `_meta` envelope, `server/discover`, version negotiation by
/// `-32022`, telling a modern server from a legacy one by its error body,
/// `resultType` and multi-round-trip requests (`input_required`), caching
/// hints (`ttlMs`, `cacheScope`), the values that go into the standard
/// request headers and the `x-mcp-header` rules of tool schemas. Pure: no
/// I/O, no actors. The HTTP side (header names, the Base64 sentinel
/// encoding) is transport/stateless_http.hpp. See docs/stateless.md; unit
/// suite `stateless`.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf/expected.hpp"
#include "caf/optional.hpp"

#include "caf_mcp/messages/mcp.hpp"

namespace caf_mcp::stateless {

// -- revision, methods, keys --------------------------------------------------

/// The stateless revision: per-request metadata instead of `initialize`.
inline constexpr std::string_view protocol_version_2026_07_28 = "2026-07-28";

/// The modern (per-request metadata) revisions we speak, preferred first.
inline constexpr std::string_view modern_protocol_versions[] = {
  protocol_version_2026_07_28,
};

/// True if `version` is one of `modern_protocol_versions`.
bool is_modern_protocol_version(std::string_view version) noexcept;

/// The discovery request (2026-07-28 server/discover.mdx).
inline constexpr std::string_view discover_method = "server/discover";

/// Reserved `_meta` keys (2026-07-28 basic/index.mdx "_meta").
inline constexpr std::string_view meta_protocol_version
  = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view meta_client_capabilities
  = "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view meta_client_info
  = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view meta_server_info
  = "io.modelcontextprotocol/serverInfo";

/// JSON-RPC error codes of 2026-07-28 (schema; all sent with HTTP 400).
inline constexpr int64_t header_mismatch_code = -32020;
inline constexpr int64_t missing_required_client_capability_code = -32021;
inline constexpr int64_t unsupported_protocol_version_code = -32022;

// -- request metadata ---------------------------------------------------------

/// What every stateless request declares about the client.
struct request_meta {
  /// `io.modelcontextprotocol/protocolVersion`; also the
  /// `MCP-Protocol-Version` header, which must be equal.
  std::string protocol_version{protocol_version_2026_07_28};
  /// `io.modelcontextprotocol/clientInfo` (name and version; title if set).
  implementation client_info;
  /// `io.modelcontextprotocol/clientCapabilities` as JSON text of an object
  /// (empty = `{}`, i.e. none).
  std::string capabilities;
};

/// Adds the envelope of `meta` to `params` (JSON text of an object; empty =
/// `{}`): `params._meta` gets the protocol version, client capabilities and
/// client info; other `_meta` members (e.g. `progressToken`) and other
/// params are kept, an old envelope is replaced. Returns the new params;
/// `invalid_argument` if `params` or `_meta` is not an object, the
/// capabilities are not an object, or the version or client name is empty.
caf::expected<std::string> with_request_meta(std::string_view params,
                                             const request_meta& meta);

/// The same for a whole JSON-RPC request: returns the request with
/// `params` replaced as by `with_request_meta` (a request without params
/// gets them). `invalid_argument` if `request` is not a JSON-RPC request
/// object (an object with a string `method`).
caf::expected<std::string> with_request_meta_in_request(std::string_view request,
                                                        const request_meta& meta);

// -- standard request headers (values) -----------------------------------------

/// The routing fields of one request, mirrored into headers: `Mcp-Method`
/// = `method`; `Mcp-Name` = `name` if set (params.name of `tools/call` and
/// `prompts/get`, params.uri of `resources/read`, exactly as in the body).
/// The values are raw: transport/stateless_http.hpp encodes them.
struct request_routing {
  std::string method;
  caf::optional<std::string> name;
};

/// The routing fields of a request with `method` and `params` (JSON text;
/// empty = none). `invalid_argument` if params is not an object, or the
/// method needs a name and params has no string `name` (`uri`).
caf::expected<request_routing> routing_of(std::string_view method,
                                          std::string_view params);

// -- x-mcp-header (mirrored tool parameters) -------------------------------------

/// One parameter a tool wants mirrored into `Mcp-Param-<header>`.
struct header_mirror {
  /// The `x-mcp-header` value (the part after `Mcp-Param-`).
  std::string header;
  /// The chain of `properties` keys from the schema root to the parameter.
  std::vector<std::string> path;
  /// The declared type: `string`, `integer` or `boolean`.
  std::string type;
};

/// Says why `name` may not be an `x-mcp-header` value (empty: it may).
/// The token rule is the transport's (transport::mirrored_header_name_error
/// in stateless_http.hpp): messages/ does not include transport/, so the
/// caller passes it in.
using header_name_check = std::string (*)(std::string_view name);

/// The mirrored parameters of a tool's `inputSchema` (JSON text), in
/// document order; empty if none. `invalid_argument` with the reason if an
/// annotation breaks a rule of 2026-07-28 (streamable-http.mdx "Custom
/// Headers from Tool Parameters"): the value must be a string that
/// `check_name` accepts (non-empty, an HTTP token `1*tchar`: no space,
/// colon, control or non-ASCII character), unique case-insensitively in the schema, on a property whose
/// `type` is `string`, `integer` or `boolean`, and statically reachable (a
/// chain of `properties` keys from the root; not under `items`, `allOf`,
/// `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `$defs`, ...). Keys inside
/// `const`, `enum`, `default` and `examples` are data and are not looked at.
caf::expected<std::vector<header_mirror>>
mirrored_parameters(std::string_view input_schema,
                    header_name_check check_name);

/// A tool taken out of a `tools/list` result, and why.
struct rejected_tool {
  std::string name;
  std::string reason;
};

/// Removes from `tools` every tool whose `x-mcp-header` annotations are
/// invalid (the spec: such a tool MUST be excluded from the result of
/// `tools/list`; the caller SHOULD log a warning with name and reason).
/// Returns one entry per removed tool, in list order.
std::vector<rejected_tool> drop_invalid_tools(std::vector<tool>& tools,
                                             header_name_check check_name);

/// The raw values of the mirrored parameters of one call: for each mirror
/// whose value in `arguments` (JSON text of an object; empty = `{}`) is
/// present and not null, `{header, value}` with strings as they are,
/// integers in decimal and booleans as `true`/`false`. Absent and null
/// values are omitted. `invalid_argument` if `arguments` is not an object,
/// or a mirrored value is an object, an array, a non-integral number or an
/// integer outside +-(2^53-1).
caf::expected<std::vector<std::pair<std::string, std::string>>>
mirrored_values(const std::vector<header_mirror>& mirrors,
                std::string_view arguments);

// -- discovery ------------------------------------------------------------------

/// The JSON-RPC text of a `server/discover` request with integer `id` and
/// the envelope of `meta` as its only params. `invalid_argument` as
/// `with_request_meta`.
caf::expected<std::string> discover_request(int64_t id,
                                            const request_meta& meta);

/// Who may keep a cached result (`cacheScope`).
enum class cache_scope : uint8_t {
  /// Absent or unknown: treat as private.
  unspecified,
  public_scope,
  private_scope,
};

const char* to_string(cache_scope x) noexcept;

/// The caching hints of a result (server/utilities/caching.mdx): `ttlMs`
/// (absent, negative or not an integer: 0 = stale at once) and
/// `cacheScope`.
struct cache_hints {
  uint64_t ttl_ms = 0;
  cache_scope scope = cache_scope::unspecified;
};

/// The caching hints of `result` (JSON text of a result object; anything
/// else gives the defaults).
cache_hints cache_hints_of(std::string_view result);

/// True for the methods whose complete results carry caching hints:
/// server/discover, tools/list, prompts/list, resources/list,
/// resources/templates/list, resources/read.
bool is_cacheable_method(std::string_view method) noexcept;

/// A `DiscoverResult`.
struct discover_result {
  std::vector<std::string> supported_versions;
  /// The server's capabilities, as parsed for `initialize`.
  server_capabilities capabilities;
  /// `_meta["io.modelcontextprotocol/serverInfo"]` (or a top-level
  /// `serverInfo`, which some servers send); empty name if neither.
  implementation server_info;
  caf::optional<std::string> instructions;
  cache_hints cache;
};

/// Parses the result of `server/discover`. `invalid_result` if it is not
/// an object, or has no non-empty array of strings `supportedVersions`:
/// such an answer (e.g. `{}` from a server that answers any method with an
/// empty result) does not come from a 2026 server, and the caller falls
/// back to `initialize`.
caf::expected<discover_result> parse_discover_result(std::string_view result);

/// The first of `ours` (preferred first) that `theirs` lists; none if they
/// share no version.
caf::optional<std::string>
choose_version(const std::vector<std::string>& theirs,
               const std::vector<std::string>& ours);

/// `modern_protocol_versions` as strings, for `choose_version`.
std::vector<std::string> our_modern_versions();

// -- era detection and version negotiation -----------------------------------------

/// What a non-2xx answer to a modern request tells about the server
/// (streamable-http.mdx "Backward Compatibility", versioning.mdx).
enum class modern_verdict : uint8_t {
  /// `-32022`: a modern server that wants another version; retry with
  /// `modern_rejection::version` (may be the version just sent).
  retry_with_version,
  /// `-32022` without a version we speak: give up
  /// (`unsupported_protocol_version`).
  no_common_version,
  /// `-32020` (a header does not match the body): a modern server; for
  /// `Mcp-Param-*` the client SHOULD re-list tools and retry once.
  header_mismatch,
  /// `-32021`: a modern server that needs a capability we did not declare.
  missing_capability,
  /// 404 with `-32601`: a modern server without that method.
  method_not_found,
  /// 400/404/405 without a recognized modern error (empty body, HTML,
  /// SDK 1.x's `400 -32000 Unsupported protocol version`): a legacy server;
  /// fall back to `initialize` (and from there to HTTP+SSE).
  legacy,
  /// Any other status (401, 403, 429, 5xx, ...): not an era answer; the
  /// usual HTTP error handling applies.
  other,
};

const char* to_string(modern_verdict x) noexcept;

/// The verdict and what came with it.
struct modern_rejection {
  modern_verdict verdict = modern_verdict::other;
  /// The JSON-RPC error code (0 if the body had none).
  int64_t code = 0;
  /// The error's message (empty if none).
  std::string message;
  /// `retry_with_version`: the version to retry with.
  std::string version;
  /// `-32022`: `data.supported`.
  std::vector<std::string> supported;
};

/// Classifies the answer `status` + `body` (a JSON-RPC response, possibly
/// empty or not JSON) to a modern request, given `ours` (preferred first).
modern_rejection classify_modern_answer(int status, std::string_view body,
                                        const std::vector<std::string>& ours);

/// The version to retry with after a JSON-RPC error `code` with `data`
/// (JSON text; empty = none): for `-32022` the first of `ours` in
/// `data.supported` — also if it is the version that was rejected (the
/// conformance suite's `request-metadata` rejects the first request
/// whatever it says). None for other codes, a malformed `data`, or no
/// common version.
caf::optional<std::string>
retry_version(int64_t code, std::string_view data,
              const std::vector<std::string>& ours);

// -- results: resultType and multi-round-trip requests ----------------------------

/// `resultType` of a result (basic/index.mdx "ResultType").
enum class result_type : uint8_t {
  /// Absent (servers of earlier revisions) or `"complete"`.
  complete,
  /// `"input_required"`: basic/patterns/mrtr.mdx.
  input_required,
};

const char* to_string(result_type x) noexcept;

/// The `resultType` of `result` (JSON text of an object). `invalid_result`
/// if `result` is not an object, or `resultType` is not a string or is a
/// value we do not know (the spec: an unrecognized value MUST be
/// considered invalid).
caf::expected<result_type> result_type_of(std::string_view result);

/// One server-to-client request inside an `input_required` result.
struct input_request {
  /// The server's key; the answer goes under the same key.
  std::string key;
  /// `elicitation/create`, `sampling/createMessage` or `roots/list`.
  std::string method;
  /// Its params as JSON text (`{}` if absent).
  std::string params;
};

/// An `InputRequiredResult`.
struct input_required_result {
  /// In the order the server sent them.
  std::vector<input_request> requests;
  /// The opaque state to echo, exactly; none if the server sent none.
  caf::optional<std::string> request_state;
};

/// Parses an `input_required` result. `invalid_result` if `result` is not
/// an object, `inputRequests` is not an object of `{method, params?}`
/// objects with a method named above, `requestState` is not a string, or
/// neither of the two is present (the spec requires at least one).
caf::expected<input_required_result>
parse_input_required(std::string_view result);

/// The params of the retry of a request whose params were `original`
/// (JSON text of an object; empty = `{}`): the same params without any
/// earlier `inputResponses`/`requestState`, plus `inputResponses`
/// (`{key: result}` for each of `responses`, each result JSON text of an
/// object) if `responses` is not empty, and `requestState` (the exact
/// string) if `request_state` is set. The retry goes out with a new
/// JSON-RPC id. `invalid_argument` if a text is not a JSON object or a key
/// repeats.
caf::expected<std::string>
retry_params(std::string_view original,
             const std::vector<std::pair<std::string, std::string>>& responses,
             const caf::optional<std::string>& request_state);

/// True if `responses` answers every request of `required` (same keys;
/// extra keys are allowed, the server ignores them). Names the first
/// missing key in `missing` otherwise.
bool answers_all(const input_required_result& required,
                 const std::vector<std::pair<std::string, std::string>>& responses,
                 std::string& missing);

} // namespace caf_mcp::stateless
