#include "caf_mcp/transport/sse_parser.hpp"

#include <cstring>
#include <limits>

#if defined(__SSE2__)
#  include <emmintrin.h>
#endif

#include "caf_mcp/transport/utf8.hpp"

namespace caf_mcp::transport {

namespace {

/// Finds the first CR or LF in [p, last) and ORs into `high` whether any byte
/// before it is >= 0x80 (then the line needs a UTF-8 check). Returns `last`
/// if there is no line end.
inline const char* find_eol(const char* p, const char* last,
                            bool& high) noexcept {
#if defined(__SSE2__)
  const auto lf = _mm_set1_epi8('\n');
  const auto cr = _mm_set1_epi8('\r');
  auto acc = _mm_setzero_si128();
  while (last - p >= 16) {
    auto v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    auto hit = _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (mask != 0) {
      auto i = static_cast<unsigned>(__builtin_ctz(mask));
      auto before = (1u << i) - 1u;
      high = high || (static_cast<unsigned>(_mm_movemask_epi8(v)) & before) != 0
             || _mm_movemask_epi8(acc) != 0;
      return p + i;
    }
    acc = _mm_or_si128(acc, v);
    p += 16;
  }
  high = high || _mm_movemask_epi8(acc) != 0;
#endif
  for (; p < last; ++p) {
    auto c = static_cast<unsigned char>(*p);
    if (c == '\n' || c == '\r')
      return p;
    high = high || c >= 0x80;
  }
  return last;
}

inline bool has_high_byte(std::string_view s) noexcept {
  for (auto c : s)
    if (static_cast<unsigned char>(c) >= 0x80)
      return true;
  return false;
}

constexpr unsigned char bom_bytes[3] = {0xEF, 0xBB, 0xBF};

/// At the end of each `put`, a buffer that holds nothing and grew beyond
/// this capacity is released: an idle stream (a client holds thousands)
/// then keeps no copy of its last large event, while a stream whose reads
/// keep cutting events reuses one allocation for all of them.
constexpr size_t keep_capacity = 512;

/// Releases the allocation of `buf` if it is empty and large.
inline void release_if_idle(std::string& buf) noexcept {
  if (buf.empty() && buf.capacity() > keep_capacity)
    std::string{}.swap(buf);
}

} // namespace

const char* to_string(sse_errc code) noexcept {
  switch (code) {
    case sse_errc::event_too_large:
      return "event_too_large";
  }
  return "unknown_sse_errc";
}

sse_sink::~sse_sink() {
  // nop
}

sse_parser::sse_parser(size_t max_event_size, std::string last_event_id)
  : max_event_size_(max_event_size),
    id_buffer_(last_event_id),
    last_event_id_(std::move(last_event_id)) {
  // nop
}

void sse_parser::put(std::string_view bytes, sse_sink& sink) {
  const char* p = bytes.data();
  const char* last = p + bytes.size();
  if (bom_state_ < 4) {
    while (p < last && bom_state_ < 3
           && static_cast<unsigned char>(*p) == bom_bytes[bom_state_]) {
      ++p;
      ++bom_state_;
    }
    if (bom_state_ == 3) {
      bom_state_ = 4;
    } else if (p < last) {
      // Not a BOM after all: the bytes matched so far are content.
      auto matched = bom_state_;
      bom_state_ = 4;
      if (matched > 0) {
        auto b = reinterpret_cast<const char*>(bom_bytes);
        put_impl(b, b + matched, sink);
      }
    } else {
      return; // Everything so far may still be a BOM.
    }
  }
  put_impl(p, last, sink);
}

void sse_parser::finish() {
  state_ = line_state::idle;
  partial_.clear();
  clear_event();
  skipping_ = false;
  after_cr_ = false;
  bom_state_ = 0;
  id_buffer_ = last_event_id_;
  release_if_idle(data_);
  release_if_idle(partial_);
  release_if_idle(type_);
}

void sse_parser::put_impl(const char* first, const char* last,
                          sse_sink& sink) {
  const char* p = first;
  if (after_cr_ && p < last) {
    after_cr_ = false;
    if (*p == '\n')
      ++p;
  }
  while (p < last) {
    bool high = false;
    const char* eol = find_eol(p, last, high);
    if (eol == last) {
      line_piece(p, last, false, high, sink);
      break;
    }
    line_piece(p, eol, true, high, sink);
    if (*eol == '\r') {
      if (eol + 1 < last) {
        p = eol + (eol[1] == '\n' ? 2 : 1);
      } else {
        after_cr_ = true;
        p = last;
      }
    } else {
      p = eol + 1;
    }
  }
  // A view must not outlive the chunk it points into.
  if (view_active_)
    materialize_view();
  release_if_idle(data_);
  release_if_idle(partial_);
  release_if_idle(type_);
}

void sse_parser::line_piece(const char* first, const char* last,
                            bool complete, bool high, sse_sink& sink) {
  auto n = static_cast<size_t>(last - first);
  auto fits = [&](size_t extra) {
    return data_size() + type_.size() + partial_.size() + extra
           <= max_event_size_;
  };
  switch (state_) {
    case line_state::idle: {
      if (complete) {
        complete_line(first, last, high, true, sink);
        break;
      }
      // An unfinished line (n > 0 here).
      if (skipping_ || *first == ':') {
        state_ = line_state::discard;
        break;
      }
      auto colon = static_cast<const char*>(std::memchr(first, ':', n));
      if (colon != nullptr && colon - first == 4
          && std::memcmp(first, "data", 4) == 0) {
        begin_data_line(sink);
        if (state_ == line_state::data_value) {
          partial_high_ = high;
          data_value_piece(colon + 1, last, sink);
        }
        break;
      }
      if (!fits(n)) {
        overflow(data_size() + type_.size() + n, sink);
        break;
      }
      partial_.assign(first, n);
      partial_high_ = high;
      state_ = colon != nullptr ? line_state::value : line_state::name;
      break;
    }
    case line_state::name: {
      auto colon = static_cast<const char*>(std::memchr(first, ':', n));
      if (colon != nullptr) {
        auto name_part = static_cast<size_t>(colon - first);
        constexpr std::string_view data_name = "data";
        if (partial_.size() + name_part == data_name.size()
            && data_name.substr(0, partial_.size()) == partial_
            && data_name.substr(partial_.size())
                 == std::string_view{first, name_part}) {
          partial_.clear();
          begin_data_line(sink);
          if (state_ == line_state::data_value) {
            partial_high_ = high;
            data_value_piece(colon + 1, last, sink);
            if (complete && state_ == line_state::data_value)
              end_data_line();
          }
          break;
        }
        state_ = line_state::value;
      }
      [[fallthrough]];
    }
    case line_state::value: {
      if (!fits(n)) {
        overflow(data_size() + type_.size() + partial_.size() + n, sink);
        break;
      }
      partial_.append(first, n);
      partial_high_ = partial_high_ || high;
      if (complete) {
        auto line = std::move(partial_);
        partial_.clear();
        complete_line(line.data(), line.data() + line.size(), partial_high_,
                      false, sink);
        partial_ = std::move(line); // keep the allocation
        partial_.clear();
      }
      break;
    }
    case line_state::data_value:
      partial_high_ = partial_high_ || high;
      data_value_piece(first, last, sink);
      if (complete && state_ == line_state::data_value)
        end_data_line();
      break;
    case line_state::discard:
      break;
  }
  if (complete)
    state_ = line_state::idle;
}

void sse_parser::complete_line(const char* first, const char* last, bool high,
                               bool in_chunk, sse_sink& sink) {
  if (first == last) {
    dispatch(sink);
    return;
  }
  if (skipping_ || *first == ':')
    return;
  auto n = static_cast<size_t>(last - first);
  std::string repaired;
  if (high && !utf8_valid({first, n})) {
    repaired = utf8_repair({first, n});
    first = repaired.data();
    n = repaired.size();
    last = first + n;
    in_chunk = false;
  }
  auto colon = static_cast<const char*>(std::memchr(first, ':', n));
  if (colon == nullptr) {
    field({first, n}, {}, in_chunk, sink);
    return;
  }
  const char* v = colon + 1;
  if (v < last && *v == ' ')
    ++v;
  field({first, static_cast<size_t>(colon - first)},
        {v, static_cast<size_t>(last - v)}, in_chunk, sink);
}

void sse_parser::field(std::string_view name, std::string_view value,
                       bool in_chunk, sse_sink& sink) {
  auto event_size = data_size() + type_.size();
  switch (name.size()) {
    case 4:
      if (name == "data") {
        auto extra = (data_lines_ > 0 ? size_t{1} : size_t{0}) + value.size();
        if (event_size + extra > max_event_size_) {
          overflow(event_size + extra, sink);
          return;
        }
        if (data_lines_ == 0 && in_chunk) {
          view_ = value;
          view_active_ = true;
          data_lines_ = 1;
          return;
        }
        materialize_view();
        if (data_lines_ > 0)
          data_ += '\n';
        data_.append(value);
        ++data_lines_;
      }
      return;
    case 5:
      if (name == "event") {
        if (data_size() + value.size() > max_event_size_) {
          overflow(data_size() + value.size(), sink);
          return;
        }
        type_.assign(value);
      } else if (name == "retry") {
        if (value.empty())
          return;
        uint64_t ms = 0;
        constexpr auto max = std::numeric_limits<uint64_t>::max();
        for (auto c : value) {
          if (c < '0' || c > '9')
            return;
          auto digit = static_cast<uint64_t>(c - '0');
          // Out of range saturates (the backoff clamps it again): a huge
          // value says "wait long", not "ignore me".
          ms = ms > (max - digit) / 10 ? max : ms * 10 + digit;
        }
        retry_ = ms;
        sink.on_retry(ms);
      }
      return;
    case 2:
      if (name == "id") {
        if (value.find('\0') != std::string_view::npos)
          return;
        if (value.size() > max_event_size_) {
          overflow(value.size(), sink);
          return;
        }
        id_buffer_.assign(value);
      }
      return;
    default:
      return; // Unknown fields are ignored.
  }
}

void sse_parser::begin_data_line(sse_sink& sink) {
  materialize_view();
  auto sep = data_lines_ > 0 ? size_t{1} : size_t{0};
  if (data_.size() + type_.size() + sep > max_event_size_) {
    overflow(data_.size() + type_.size() + sep, sink);
    return;
  }
  if (sep > 0)
    data_ += '\n';
  ++data_lines_;
  data_line_start_ = data_.size();
  space_pending_ = true;
  partial_high_ = false;
  state_ = line_state::data_value;
}

void sse_parser::data_value_piece(const char* first, const char* last,
                                  sse_sink& sink) {
  if (space_pending_ && first < last) {
    space_pending_ = false;
    if (*first == ' ')
      ++first;
  }
  auto n = static_cast<size_t>(last - first);
  if (data_.size() + type_.size() + n > max_event_size_) {
    overflow(data_.size() + type_.size() + n, sink);
    return;
  }
  data_.append(first, n);
}

void sse_parser::end_data_line() {
  if (partial_high_) {
    std::string_view line{data_.data() + data_line_start_,
                          data_.size() - data_line_start_};
    if (!utf8_valid(line)) {
      auto fixed = utf8_repair(line);
      data_.resize(data_line_start_);
      data_ += fixed;
    }
  }
  partial_high_ = false;
}

void sse_parser::materialize_view() {
  if (!view_active_)
    return;
  data_.assign(view_.data(), view_.size());
  view_ = {};
  view_active_ = false;
}

void sse_parser::dispatch(sse_sink& sink) {
  if (last_event_id_ != id_buffer_)
    last_event_id_ = id_buffer_;
  if (skipping_) {
    skipping_ = false;
    clear_event();
    return;
  }
  if (data_lines_ == 0) {
    type_.clear();
    return;
  }
  std::string_view data = view_active_ ? view_ : std::string_view{data_};
  std::string_view type = type_.empty() ? std::string_view{"message"}
                                        : std::string_view{type_};
  sink.on_event(type, data, last_event_id_);
  clear_event();
}

void sse_parser::overflow(size_t size, sse_sink& sink) {
  clear_event();
  partial_.clear();
  skipping_ = true;
  state_ = line_state::discard;
  sink.on_error(sse_errc::event_too_large, size);
}

void sse_parser::clear_event() noexcept {
  data_.clear();
  view_ = {};
  view_active_ = false;
  data_lines_ = 0;
  type_.clear();
}

} // namespace caf_mcp::transport
