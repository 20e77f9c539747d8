#include "caf_mcp/transport/log.hpp"

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>

#include <unistd.h>

namespace caf_mcp::log {

namespace {

std::atomic<uint8_t> min_level{static_cast<uint8_t>(level::off)};
std::mutex sink_mtx;
std::shared_ptr<const sink> current_sink;

constexpr const char* names[] = {"trace", "debug", "info",
                                 "warn",  "error", "off"};

void append_hex(std::string& out, unsigned value, int digits) {
  static constexpr char hex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i)
    out += hex[(value >> (4 * i)) & 0xF];
}

} // namespace

const char* to_string(level x) noexcept {
  auto i = static_cast<size_t>(x);
  return i < std::size(names) ? names[i] : "off";
}

bool from_string(std::string_view text, level& out) noexcept {
  for (size_t i = 0; i < std::size(names); ++i)
    if (text == names[i]) {
      out = static_cast<level>(i);
      return true;
    }
  return false;
}

void set_sink(sink s, level min) {
  std::shared_ptr<const sink> next;
  if (s && min != level::off)
    next = std::make_shared<const sink>(std::move(s));
  else
    min = level::off;
  {
    std::lock_guard<std::mutex> guard{sink_mtx};
    current_sink = std::move(next);
  }
  min_level.store(static_cast<uint8_t>(min), std::memory_order_relaxed);
}

void reset() {
  set_sink(nullptr, level::off);
}

bool enabled(level x) noexcept {
  return x != level::off
         && static_cast<uint8_t>(x)
              >= min_level.load(std::memory_order_relaxed);
}

void write(level x, std::string_view component, std::string_view text) {
  if (!enabled(x))
    return;
  std::shared_ptr<const sink> s;
  {
    std::lock_guard<std::mutex> guard{sink_mtx};
    s = current_sink;
  }
  if (s)
    (*s)(x, component, text);
}

std::string escape_controls(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\t' || (c == '\n' && keep_newlines)
        || (c >= 0x20 && c < 0x7F)) {
      out += static_cast<char>(c);
      continue;
    }
    if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      append_hex(out, c, 2);
      continue;
    }
    // C1 controls (U+0080..U+009F: C2 80..C2 9F) and bidi overrides
    // (U+202A..U+202E: E2 80 AA..AE; U+2066..U+2069: E2 81 A6..A9).
    if (c == 0xC2 && i + 1 < text.size()) {
      auto d = static_cast<unsigned char>(text[i + 1]);
      if (d >= 0x80 && d <= 0x9F) {
        out += "\\u{";
        append_hex(out, d, 4);
        out += '}';
        ++i;
        continue;
      }
    }
    if (c == 0xE2 && i + 2 < text.size()) {
      auto d = static_cast<unsigned char>(text[i + 1]);
      auto e = static_cast<unsigned char>(text[i + 2]);
      unsigned cp = ((c & 0x0Fu) << 12) | ((d & 0x3Fu) << 6) | (e & 0x3Fu);
      if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
        out += "\\u{";
        append_hex(out, cp, 4);
        out += '}';
        i += 2;
        continue;
      }
    }
    out += static_cast<char>(c);
  }
  return out;
}

sink stderr_sink() {
  return [](level x, std::string_view component, std::string_view text) {
    std::string line = "caf-mcp ";
    line += to_string(x);
    line += ' ';
    line += component;
    line += ": ";
    line += escape_controls(text);
    line += '\n';
    // One write per line: lines of different threads do not interleave.
    auto rc = ::write(STDERR_FILENO, line.data(), line.size());
    static_cast<void>(rc);
  };
}

} // namespace caf_mcp::log
