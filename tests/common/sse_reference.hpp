#pragma once

// A deliberately naive, whole-input implementation of the WHATWG event-stream
// rules, used as the oracle for differential tests and the parser fuzz
// target. It favours obviousness over speed: decode everything, split into
// lines, then apply the field rules line by line.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "caf_mcp/transport/sse_parser.hpp"
#include "caf_mcp/transport/utf8.hpp"

namespace caf_mcp::test {

/// Renders everything a sink sees as one string per callback.
struct recording_sink : transport::sse_sink {
  std::vector<std::string> out;

  void on_event(std::string_view type, std::string_view data,
                std::string_view id) override {
    std::string s = "event:";
    s.append(type).append("|").append(data).append("|").append(id);
    out.push_back(std::move(s));
  }

  void on_retry(uint64_t ms) override {
    out.push_back("retry:" + std::to_string(ms));
  }

  void on_error(transport::sse_errc code, size_t) override {
    out.push_back(std::string{"error:"} + transport::to_string(code));
  }
};

/// Feeds `input` to a fresh parser in pieces of `chunk` bytes (0 = whole).
inline std::vector<std::string>
parse_chunked(std::string_view input, size_t chunk,
              size_t max_size = transport::sse_parser::default_max_event_size) {
  transport::sse_parser parser{max_size};
  recording_sink sink;
  if (chunk == 0)
    chunk = input.size() + 1;
  for (size_t i = 0; i < input.size(); i += chunk)
    parser.put(input.substr(i, chunk), sink);
  parser.finish();
  return std::move(sink.out);
}

/// The oracle: no size limit, whole input at once.
inline std::vector<std::string> reference_parse(std::string_view raw) {
  std::vector<std::string> out;
  if (raw.substr(0, 3) == "\xEF\xBB\xBF")
    raw.remove_prefix(3);
  auto text = transport::utf8_repair(raw);
  // Split into complete lines (a trailing unterminated line is dropped).
  std::vector<std::string> lines;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      lines.push_back(cur);
      cur.clear();
      if (i + 1 < text.size() && text[i + 1] == '\n')
        ++i;
    } else if (c == '\n') {
      lines.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  std::string data, type, id_buf, last_id;
  for (auto& line : lines) {
    if (line.empty()) {
      last_id = id_buf;
      if (data.empty()) {
        type.clear();
        continue;
      }
      data.pop_back(); // the trailing LF
      out.push_back("event:" + (type.empty() ? std::string{"message"} : type)
                    + "|" + data + "|" + last_id);
      data.clear();
      type.clear();
      continue;
    }
    if (line[0] == ':')
      continue;
    std::string name, value;
    auto colon = line.find(':');
    if (colon == std::string::npos) {
      name = line;
    } else {
      name = line.substr(0, colon);
      value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ')
        value.erase(0, 1);
    }
    if (name == "event") {
      type = value;
    } else if (name == "data") {
      data += value;
      data += '\n';
    } else if (name == "id") {
      if (value.find('\0') == std::string::npos)
        id_buf = value;
    } else if (name == "retry") {
      bool ok = !value.empty();
      uint64_t ms = 0;
      for (char c : value) {
        if (c < '0' || c > '9') {
          ok = false;
          break;
        }
        auto d = static_cast<uint64_t>(c - '0');
        // Beyond 2^64-1: saturate (a huge value still means "wait long").
        if (ms > (std::numeric_limits<uint64_t>::max() - d) / 10) {
          ms = std::numeric_limits<uint64_t>::max();
          continue;
        }
        ms = ms * 10 + d;
      }
      if (ok)
        out.push_back("retry:" + std::to_string(ms));
    }
  }
  return out;
}

} // namespace caf_mcp::test
