#include "caf_mcp/transport/streamable_http.hpp"

#include "caf_mcp/transport/headers.hpp"

namespace caf_mcp::transport {

const char* to_string(response_kind x) noexcept {
  switch (x) {
    case response_kind::accepted:
      return "accepted";
    case response_kind::json:
      return "json";
    case response_kind::event_stream:
      return "event_stream";
    case response_kind::unexpected_content_type:
      return "unexpected_content_type";
    case response_kind::error:
      return "error";
  }
  return "?";
}

namespace {

/// The media type of a Content-Type value as sent: parameters and the
/// blanks around it cut off, case kept.
std::string_view bare_media_type(std::string_view content_type) noexcept {
  auto type = content_type.substr(0, content_type.find(';'));
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!type.empty() && is_space(type.front()))
    type.remove_prefix(1);
  while (!type.empty() && is_space(type.back()))
    type.remove_suffix(1);
  return type;
}

} // namespace

std::string media_type(std::string_view content_type) {
  auto type = bare_media_type(content_type);
  std::string out;
  out.reserve(type.size());
  for (auto c : type)
    out += ascii_lower(c);
  return out;
}

response_kind classify_response(int status, std::string_view content_type,
                                bool has_body) {
  if (status < 200 || status > 299)
    return response_kind::error;
  if (status == 202 || status == 204)
    return response_kind::accepted;
  auto type = bare_media_type(content_type);
  if (iequals(type, "application/json"))
    return response_kind::json;
  if (iequals(type, "text/event-stream"))
    return response_kind::event_stream;
  if (type.empty() && !has_body)
    return response_kind::accepted;
  return response_kind::unexpected_content_type;
}

bool valid_session_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > max_session_id_size)
    return false;
  for (auto c : id) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7E)
      return false;
  }
  return true;
}

bool sends_protocol_version_header(std::string_view version) noexcept {
  return version >= std::string_view{"2025-06-18"};
}

header_list mcp_request_headers(std::string_view session_id,
                                std::string_view version) {
  header_list out;
  if (!session_id.empty())
    out.emplace_back(std::string{session_id_header}, std::string{session_id});
  if (!version.empty())
    out.emplace_back(std::string{protocol_version_header},
                     std::string{version});
  return out;
}

message_sink::~message_sink() {
  // nop
}

response_reader::response_reader(response_kind kind, size_t max_size,
                                 std::string last_event_id)
  : kind_(kind),
    max_size_(max_size),
    parser_(max_size, std::move(last_event_id)) {
  // nop
}

void response_reader::feed(std::string_view bytes, message_sink& out) {
  switch (kind_) {
    case response_kind::event_stream:
      out_ = &out;
      parser_.put(bytes, *this);
      out_ = nullptr;
      return;
    case response_kind::json:
      if (overflowed_)
        return;
      if (json_.size() + bytes.size() > max_size_) {
        overflowed_ = true;
        std::string{}.swap(json_);
        return;
      }
      json_.append(bytes);
      return;
    default:
      return; // nothing to read
  }
}

void response_reader::finish(message_sink& out) {
  if (kind_ == response_kind::json && !overflowed_ && !json_.empty()) {
    out.on_message(json_);
    std::string{}.swap(json_);
  } else if (kind_ == response_kind::event_stream) {
    parser_.finish();
  }
}

void response_reader::on_event(std::string_view type, std::string_view data,
                               std::string_view) {
  // An event without data (a 2025-11-25 priming event: an id, maybe a
  // retry, empty data) carries no message.
  if (type == "message" && !data.empty() && out_ != nullptr)
    out_->on_message(data);
}

void response_reader::on_retry(uint64_t milliseconds) {
  retry_ms_ = milliseconds;
}

void response_reader::on_error(sse_errc, size_t) {
  overflowed_ = true;
}

} // namespace caf_mcp::transport
