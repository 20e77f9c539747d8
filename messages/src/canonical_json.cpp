#include "caf_mcp/messages/canonical_json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <vector>

#include <boost/json/value.hpp>

#include "caf_mcp/messages/jsonrpc.hpp"
#include "caf_mcp/messages/mcp.hpp"

namespace caf_mcp {

namespace json = boost::json;

namespace {

std::string_view view(json::string_view str) noexcept {
  return {str.data(), str.size()};
}

void append_uint(std::string& out, uint64_t x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, static_cast<size_t>(res.ptr - buf));
}

/// A double with an integral value in [-2^63, 2^64) as that integer,
/// anything else in shortest round-trip form.
void append_number(std::string& out, double x) {
  constexpr double two_63 = 9223372036854775808.0;
  constexpr double two_64 = 18446744073709551616.0;
  if (std::isfinite(x) && std::trunc(x) == x && x >= -two_63 && x < two_64) {
    // Both conversions are exact: x is integral and in range. -0.0 is 0.
    if (x < two_63)
      append_json_int(out, static_cast<int64_t>(x));
    else
      append_uint(out, static_cast<uint64_t>(x));
    return;
  }
  append_json_double(out, x);
}

/// std::string_view compares through char_traits<char>, i.e. as unsigned
/// bytes (memcmp): exactly the UTF-8 byte order.
bool key_less(const json::key_value_pair* x, const json::key_value_pair* y) {
  return view(x->key()) < view(y->key());
}

void append_member(std::string& out, const json::key_value_pair& kvp) {
  append_json_string(out, view(kvp.key()));
  out += ':';
  append_canonical_json(out, kvp.value());
}

} // namespace

void append_canonical_json(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      append_json_int(out, v.get_int64());
      break;
    case json::kind::uint64:
      append_uint(out, v.get_uint64());
      break;
    case json::kind::double_:
      append_number(out, v.get_double());
      break;
    case json::kind::string:
      append_json_string(out, view(v.get_string()));
      break;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (auto& element : v.get_array()) {
        if (!first)
          out += ',';
        first = false;
        append_canonical_json(out, element);
      }
      out += ']';
      break;
    }
    case json::kind::object: {
      auto& obj = v.get_object();
      out += '{';
      // Objects written by a canonical writer (ours, or one that sorts) are
      // already in order: no sort, no allocation.
      auto in_order = std::is_sorted(obj.begin(), obj.end(),
                                     [](const auto& x, const auto& y) {
                                       return view(x.key()) < view(y.key());
                                     });
      if (in_order) {
        bool first = true;
        for (auto& kvp : obj) {
          if (!first)
            out += ',';
          first = false;
          append_member(out, kvp);
        }
      } else {
        std::vector<const json::key_value_pair*> members;
        members.reserve(obj.size());
        for (auto& kvp : obj)
          members.push_back(&kvp);
        std::sort(members.begin(), members.end(), key_less);
        bool first = true;
        for (auto member : members) {
          if (!first)
            out += ',';
          first = false;
          append_member(out, *member);
        }
      }
      out += '}';
      break;
    }
  }
}

std::string canonical_json(const json::value& v) {
  std::string result;
  append_canonical_json(result, v);
  return result;
}

caf::error canonical_json_text(std::string_view text, std::string& out) {
  json::value jv;
  if (auto err = parse_json_text(text, jv))
    return err;
  std::string result;
  result.reserve(text.size());
  append_canonical_json(result, jv);
  out = std::move(result);
  return caf::none;
}

} // namespace caf_mcp
