// Stateless MCP 2026-07-28, HTTP level: see stateless_http.hpp and
// docs/stateless.md.
#include "caf_mcp/transport/stateless_http.hpp"

#include <cstdint>

#include "caf_mcp/transport/headers.hpp"
#include "caf_mcp/transport/streamable_http.hpp"

namespace caf_mcp::transport {

namespace {

constexpr std::string_view sentinel_prefix = "=?base64?";
constexpr std::string_view sentinel_suffix = "?=";

bool looks_like_sentinel(std::string_view x) noexcept {
  return x.size() >= sentinel_prefix.size() + sentinel_suffix.size()
         && x.substr(0, sentinel_prefix.size()) == sentinel_prefix
         && x.substr(x.size() - sentinel_suffix.size()) == sentinel_suffix;
}

int base64_digit(char c) noexcept {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0)
    return std::nullopt;
  std::string out;
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      auto c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      auto d = base64_digit(c);
      if (d < 0 || pad > 0)
        return std::nullopt;
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out += static_cast<char>((v >> 16) & 0xFF);
    if (pad < 2)
      out += static_cast<char>((v >> 8) & 0xFF);
    if (pad < 1)
      out += static_cast<char>(v & 0xFF);
  }
  return out;
}

} // namespace

bool is_plain_header_value(std::string_view value) noexcept {
  if (value.empty())
    return true;
  if (value.front() == ' ' || value.back() == ' ')
    return false;
  for (auto c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E)
      return false;
  }
  return !looks_like_sentinel(value);
}

std::string encode_header_value(std::string_view value) {
  if (is_plain_header_value(value))
    return std::string{value};
  std::string out{sentinel_prefix};
  out += base64_encode(value);
  out += sentinel_suffix;
  return out;
}

std::optional<std::string> decode_header_value(std::string_view value) {
  if (!looks_like_sentinel(value))
    return std::string{value};
  return base64_decode(value.substr(sentinel_prefix.size(),
                                    value.size() - sentinel_prefix.size()
                                      - sentinel_suffix.size()));
}

std::string mirrored_header_name_error(std::string_view name) {
  if (name.empty())
    return "the header name is empty";
  if (!is_http_token(name))
    return "the header name is not an HTTP token (letters, digits and "
           "!#$%&'*+-.^_`|~ only; no space, colon, control or non-ASCII "
           "character)";
  return {};
}

header_list stateless_request_headers(
  std::string_view version, std::string_view method,
  const std::optional<std::string>& name,
  const std::vector<std::pair<std::string, std::string>>& params) {
  header_list result;
  result.reserve(3 + params.size());
  result.emplace_back(std::string{protocol_version_header},
                      std::string{version});
  result.emplace_back(std::string{mcp_method_header}, std::string{method});
  if (name)
    result.emplace_back(std::string{mcp_name_header},
                        encode_header_value(*name));
  for (auto& [param, value] : params) {
    std::string header{mcp_param_header_prefix};
    header += param;
    result.emplace_back(std::move(header), encode_header_value(value));
  }
  return result;
}

} // namespace caf_mcp::transport
