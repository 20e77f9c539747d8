#pragma once

/// An incremental parser for `text/event-stream`, following the WHATWG HTML
/// Standard, section "Interpreting an event stream", for any chunking of the
/// input. It owns no socket: feed it bytes with `put()` as they arrive.
///
/// Rules implemented (see docs/architecture.md for the reasoning):
/// - lines end in CRLF, LF or CR; a CRLF split across two `put()` calls is
///   one line end;
/// - one leading U+FEFF (BOM) is dropped, even when split across calls;
/// - the stream is UTF-8 decoded: each maximal invalid subpart becomes U+FFFD;
/// - `:`-lines are comments; `field: value` strips one leading space;
///   a line without colon is a field with an empty value;
/// - `event` sets the type, `data` appends a line, `id` sets the last event
///   id unless the value contains U+0000, `retry` takes ASCII digits only
///   (reported through the sink at once), other fields are ignored;
/// - an event is dispatched only on a blank line, and only if it has data;
///   its type defaults to "message"; the last event id persists;
/// - at the end of the stream an incomplete event is discarded.
///
/// Beyond the standard: an event (data + type + an unfinished line) larger
/// than `max_event_size` is reported as `sse_errc::event_too_large` and
/// discarded up to its closing blank line; memory stays bounded and the
/// following events are parsed normally.
///
/// Cost: lines are found with a 16-byte-wide scan; the data of an event that
/// lies inside one chunk is passed to the sink as a view into that chunk
/// (no copy); otherwise each data byte is copied once into an internal
/// buffer.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace caf_mcp::transport {

/// What can go wrong while parsing an event stream.
enum class sse_errc : uint8_t {
  /// An event exceeded the configured maximum size and was discarded.
  event_too_large = 1,
};

/// Name of an `sse_errc`.
const char* to_string(sse_errc code) noexcept;

/// Receives the parser's output, in stream order. The string views are valid
/// only during the call.
class sse_sink {
public:
  virtual ~sse_sink();

  /// An event was dispatched.
  virtual void on_event(std::string_view type, std::string_view data,
                        std::string_view last_event_id)
    = 0;

  /// A valid `retry` field set the reconnection time (milliseconds).
  virtual void on_retry(uint64_t milliseconds) = 0;

  /// The parser discarded input; `size` is the event size reached.
  virtual void on_error(sse_errc code, size_t size) = 0;
};

/// The incremental event-stream parser. Rebuild it for every new stream
/// (pass the previous stream's last event id if you resume).
class sse_parser {
public:
  /// Default for `max_event_size`: real servers send single events of
  /// hundreds of kilobytes, so the bound is generous.
  static constexpr size_t default_max_event_size = size_t{16} * 1024 * 1024;

  explicit sse_parser(size_t max_event_size = default_max_event_size,
                      std::string last_event_id = {});

  /// Feeds the next bytes of the stream.
  void put(std::string_view bytes, sse_sink& sink);

  /// Signals the end of the stream: an incomplete event or line is dropped.
  /// The parser can then be fed a new stream (a new BOM is accepted).
  void finish();

  /// The event source's last event id as of the last dispatch.
  const std::string& last_event_id() const noexcept {
    return last_event_id_;
  }

  /// The last valid `retry` value seen, if any.
  std::optional<uint64_t> retry() const noexcept {
    return retry_;
  }

  /// The configured maximum event size.
  size_t max_event_size() const noexcept {
    return max_event_size_;
  }

private:
  enum class line_state : uint8_t {
    /// At the start of a line.
    idle,
    /// Inside an unfinished line whose colon has not been seen yet;
    /// `partial_` holds its bytes.
    name,
    /// Inside an unfinished non-data line after its colon; `partial_` holds
    /// the whole line so far.
    value,
    /// Inside an unfinished data line; its value goes straight to `data_`.
    data_value,
    /// Inside a line whose content does not matter (comment, or an event
    /// being discarded); the line is known not to be blank.
    discard,
  };

  void put_impl(const char* first, const char* last, sse_sink& sink);
  void line_piece(const char* first, const char* last, bool complete,
                  bool high, sse_sink& sink);
  void complete_line(const char* first, const char* last, bool high,
                     bool in_chunk, sse_sink& sink);
  void field(std::string_view name, std::string_view value, bool in_chunk,
             sse_sink& sink);
  void begin_data_line(sse_sink& sink);
  void data_value_piece(const char* first, const char* last, sse_sink& sink);
  void end_data_line();
  void materialize_view();
  void dispatch(sse_sink& sink);
  void overflow(size_t size, sse_sink& sink);
  void clear_event() noexcept;
  size_t data_size() const noexcept {
    return view_active_ ? view_.size() : data_.size();
  }

  size_t max_event_size_;
  /// Data of the current event when it is not a view (lines joined by LF).
  std::string data_;
  /// Data of the current event while it is one line inside the current chunk.
  std::string_view view_;
  bool view_active_ = false;
  /// Number of data lines in the current event.
  size_t data_lines_ = 0;
  /// Event type buffer.
  std::string type_;
  /// Last event id buffer (set by `id` fields).
  std::string id_buffer_;
  /// The last event id string (set on dispatch).
  std::string last_event_id_;
  std::optional<uint64_t> retry_;
  /// Bytes of an unfinished line (states `name` and `value`).
  std::string partial_;
  line_state state_ = line_state::idle;
  /// In `data_value`: where the current data line starts in `data_`.
  size_t data_line_start_ = 0;
  /// In `data_value`: the optional space after the colon may still come.
  bool space_pending_ = false;
  /// The unfinished line has bytes >= 0x80 (UTF-8 check needed at its end).
  bool partial_high_ = false;
  /// The previous chunk ended on CR: skip one LF at the start of the next.
  bool after_cr_ = false;
  /// Discarding an oversized event up to the next blank line.
  bool skipping_ = false;
  /// Bytes of a possible BOM matched so far (0..3); 4 = BOM phase over.
  uint8_t bom_state_ = 0;
};

} // namespace caf_mcp::transport
