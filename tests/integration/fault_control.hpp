#pragma once

// Blocking helpers for integration suites that drive our demo / fault server
// (docs/fault-server.md) through plain HTTP: its control API (POST /_fault,
// GET /_stats) and, in token mode, raw requests with or without a token.

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

// GCC 12 reports -Wnull-dereference false positives from inlined Asio
// internals (as in transport/src/http_detail.hpp): silenced for Boost only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/value.hpp>
#pragma GCC diagnostic pop

namespace caf_mcp::test {

/// One answer of the server.
struct http_reply {
  int status = 0;
  std::string body;
  /// The `WWW-Authenticate` header of the answer, if any.
  std::string www_authenticate;
  /// Set when no answer arrived (connect, write or read failed).
  std::string failure;
};

/// A blocking HTTP/1.1 request to 127.0.0.1:`port`, at most 5 s in all
/// (the stream's deadline covers connect, write and read), with extra
/// header fields `headers`.
inline http_reply
control_request(uint16_t port, boost::beast::http::verb verb,
                const std::string& target, const std::string& body = {},
                const std::vector<std::pair<std::string, std::string>>&
                  headers = {}) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::connection, "close");
  for (auto& h : headers)
    req.set(h.first, h.second);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http_reply out;
  auto fail = [&out](const char* step, beast::error_code ec) {
    out.failure = std::string{step} + ": " + ec.message();
  };
  stream.expires_after(std::chrono::seconds{5});
  asio::ip::tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), port};
  auto on_read = [&](beast::error_code ec, size_t) {
    if (ec)
      return fail("read", ec);
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    if (auto i = res.find(http::field::www_authenticate); i != res.end())
      out.www_authenticate = std::string{i->value()};
  };
  auto on_write = [&](beast::error_code ec, size_t) {
    if (ec)
      return fail("write", ec);
    http::async_read(stream, buf, res, on_read);
  };
  auto on_connect = [&](beast::error_code ec) {
    if (ec)
      return fail("connect", ec);
    http::async_write(stream, req, on_write);
  };
  stream.async_connect(ep, on_connect);
  ioc.run();
  return out;
}

/// The port of "http://127.0.0.1:PORT/sse" (0 if there is none).
inline uint16_t port_of(const std::string& url) {
  auto colon = url.rfind(':');
  if (url.empty() || colon == std::string::npos || colon < 6)
    return 0;
  return static_cast<uint16_t>(std::strtoul(url.c_str() + colon + 1,
                                            nullptr, 10));
}

/// A JSON number as int64 (0 if absent or not an integer).
inline int64_t as_int(const boost::json::value* v) {
  if (v == nullptr)
    return 0;
  if (auto p = v->if_int64())
    return *p;
  if (auto p = v->if_uint64())
    return static_cast<int64_t>(*p);
  return 0;
}

} // namespace caf_mcp::test
