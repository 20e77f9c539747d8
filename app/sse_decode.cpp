// caf-mcp sse-decode: raw SSE bytes on stdin, one JSON line per event on
// stdout. A debugging tool: `curl -N URL | caf-mcp sse-decode`.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "caf_mcp/transport/sse_parser.hpp"
#include "commands.hpp"

namespace caf_mcp::app {

namespace {

/// Writes what the parser reports as JSON lines, buffered.
class json_lines_sink : public transport::sse_sink {
public:
  ~json_lines_sink() override {
    flush();
  }

  void on_event(std::string_view type, std::string_view data,
                std::string_view id) override {
    out_ += "{\"event\":";
    append_string(type);
    out_ += ",\"data\":";
    append_string(data);
    out_ += ",\"id\":";
    append_string(id);
    out_ += "}\n";
    maybe_flush();
  }

  void on_retry(uint64_t ms) override {
    out_ += "{\"retry\":";
    out_ += std::to_string(ms);
    out_ += "}\n";
    maybe_flush();
  }

  void on_error(transport::sse_errc code, size_t size) override {
    flush();
    std::fprintf(stderr,
                 "caf-mcp sse-decode: %s: event discarded after %zu bytes\n",
                 transport::to_string(code), size);
    ++errors;
  }

  void flush() {
    if (!out_.empty()) {
      std::fwrite(out_.data(), 1, out_.size(), stdout);
      out_.clear();
    }
    std::fflush(stdout);
  }

  size_t errors = 0;

private:
  void append_string(std::string_view s) {
    // The parser hands out valid UTF-8; Boost.JSON escapes quotes,
    // backslashes and control characters.
    out_ += boost::json::serialize(boost::json::string_view{s.data(), s.size()});
  }

  void maybe_flush() {
    if (out_.size() >= 64 * 1024) {
      std::fwrite(out_.data(), 1, out_.size(), stdout);
      out_.clear();
    }
  }

  std::string out_;
};

struct sse_decode_options {
  size_t chunk_size = 65536;
  size_t max_event_size = transport::sse_parser::default_max_event_size;
};

int run_sse_decode(const sse_decode_options& opts) {
  transport::sse_parser parser{opts.max_event_size};
  json_lines_sink sink;
  // The buffer grows while input fills it, up to chunk_size: a huge
  // --chunk-size costs memory only for input that is really there.
  std::vector<char> buf(std::min(opts.chunk_size, size_t{65536}));
  for (;;) {
    // Fill the buffer as far as possible so each put() sees exactly
    // chunk_size bytes (except the last), whatever the pipe delivers.
    size_t filled = 0;
    bool eof = false;
    while (filled < opts.chunk_size) {
      if (filled == buf.size())
        buf.resize(std::min(opts.chunk_size, buf.size() * 2));
      auto n = ::read(STDIN_FILENO, buf.data() + filled, buf.size() - filled);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        sink.flush();
        std::perror("caf-mcp sse-decode: read");
        return exit_failure;
      }
      if (n == 0) {
        eof = true;
        break;
      }
      filled += static_cast<size_t>(n);
    }
    if (filled > 0)
      parser.put({buf.data(), filled}, sink);
    if (eof)
      break;
  }
  parser.finish();
  sink.flush();
  return exit_ok;
}

} // namespace

void add_sse_decode(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<sse_decode_options>();
  auto cmd = app.add_subcommand(
    "sse-decode",
    "Read raw text/event-stream bytes on stdin and print one JSON object per "
    "line: {\"event\":TYPE,\"data\":DATA,\"id\":LAST_EVENT_ID} for each "
    "dispatched event and {\"retry\":MS} for each valid retry field. "
    "Discarded oversized events are reported on stderr.");
  cmd->add_option("--chunk-size", opts->chunk_size,
                  "feed the parser N bytes at a time (default 65536)")
    ->check(CLI::Range(size_t{1}, size_t{1} << 30));
  cmd->add_option("--max-event-size", opts->max_event_size,
                  "largest event in bytes before it is discarded "
                  "(default 16 MiB)")
    ->check(CLI::Range(size_t{1}, size_t{1} << 40));
  cmd->callback([opts, &exit_code] { exit_code = run_sse_decode(*opts); });
}

} // namespace caf_mcp::app
