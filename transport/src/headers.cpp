#include "caf_mcp/transport/headers.hpp"

#include <algorithm>
#include <cctype>

namespace caf_mcp::transport {

namespace {

bool is_tchar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u) != 0 && u < 0x80)
    return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool iequals(std::string_view x, std::string_view y) {
  return x.size() == y.size()
         && std::equal(x.begin(), x.end(), y.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a))
                     == std::tolower(static_cast<unsigned char>(b));
            });
}

} // namespace

std::string check_header(std::string_view name, std::string_view value) {
  if (name.empty())
    return "a header needs a name";
  if (!std::all_of(name.begin(), name.end(), is_tchar))
    return "header name is not an HTTP token (letters, digits and "
           "!#$%&'*+-.^_`|~ only)";
  for (auto owned : {"Host", "Content-Length", "Transfer-Encoding",
                     "Connection"})
    if (iequals(name, owned))
      return "header " + std::string{name}
             + " is set by the transport and cannot be configured";
  for (auto c : value)
    if (c == '\r' || c == '\n' || c == '\0')
      return "the value of header " + std::string{name}
             + " contains CR, LF or NUL";
  return {};
}

bool bearer_matches(std::string_view header, std::string_view token) noexcept {
  constexpr std::string_view scheme = "Bearer ";
  if (header.size() != scheme.size() + token.size())
    return false;
  unsigned diff = 0;
  for (size_t i = 0; i < scheme.size(); ++i)
    diff |= static_cast<unsigned>(
      std::tolower(static_cast<unsigned char>(header[i])))
            ^ static_cast<unsigned>(
              std::tolower(static_cast<unsigned char>(scheme[i])));
  for (size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned>(
      static_cast<unsigned char>(header[scheme.size() + i])
      ^ static_cast<unsigned char>(token[i]));
  return diff == 0 && !token.empty();
}

} // namespace caf_mcp::transport
