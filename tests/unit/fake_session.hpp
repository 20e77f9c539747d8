#pragma once

// A fake session for deterministic supervisor and pool tests: answers
// `echo` at once, holds `hold` until told, fails its start while the fake
// server says so. Control it with (control_atom, control code).

#include <deque>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "caf/all.hpp"

#include "caf_mcp/actors/session.hpp"

namespace caf_mcp::test {

using namespace std::chrono_literals;

/// The test's lever on a fake session: (control_atom, code).
using control_atom = caf::atom_constant<caf::atom("fk_ctrl")>;

/// A session as tests spawn it: the caller interface plus the lever.
using fake_session_actor
  = session_actor::extend<caf::reacts_to<control_atom, int64_t>>;

/// Control codes a test sends to a fake session as (control_atom, code).
enum control : int64_t {
  /// Fail every held call with connection_lost and quit with it.
  die = 1,
  /// Answer every held call with a result.
  answer_all = 2,
  /// Fail the oldest held call with session_expired and quit with it (a
  /// POST answered 404).
  expire_first = 3,
  /// Fail the oldest held call with outcome_unknown (a POST that broke
  /// after it was written); the session goes on.
  unknown_first = 4,
};

/// The server the fake sessions pretend to talk to.
struct fake_server {
  /// The next `fail_starts` sessions quit at init with `start_error`.
  int fail_starts = 0;
  caf::error start_error;
  /// The next `hang_starts` sessions never answer init (a server that
  /// never answers initialize).
  int hang_starts = 0;
  /// The deadline the last ping or listing came with (0 = none).
  caf::timespan last_timeout{0};
  /// Sessions spawned so far (index = order).
  std::vector<fake_session_actor> sessions;
  /// Calls executed: (session index, tool name, args).
  std::vector<std::tuple<size_t, std::string, std::string>> executed;
  /// The tool list of the next sessions.
  std::vector<tool> tools;
  /// The per-call headers of every call received, in order.
  std::vector<std::vector<std::pair<std::string, std::string>>> call_headers;
  /// If set, a call without `Authorization: Bearer <required_token>` is
  /// refused with unauthorized (an HTTP 401 on its POST) and not executed.
  std::string required_token;
  /// The next calls fail with these errors, one each, in order; a fault
  /// with `runs` set counts as executed first (a response lost after the
  /// tool ran), else the call is not executed (a refused POST).
  struct call_fault {
    caf::error err;
    bool runs = false;
  };
  std::deque<call_fault> call_faults;
};

struct fake_session_state {
  std::shared_ptr<fake_server> server;
  size_t index = 0;
  std::deque<caf::typed_response_promise<call_tool_result>> held;
  std::vector<caf::typed_response_promise<initialize_result>> hung;
  static inline const char* name = "fake_session";
};

inline call_tool_result text_result(const std::string& text) {
  call_tool_result res;
  content_block block;
  block.kind = content_kind::text;
  block.text = text;
  res.content.push_back(block);
  return res;
}

/// A session that answers `echo` at once and holds `hold` until told; init
/// fails while the server says so.
inline fake_session_actor::behavior_type
fake_session(fake_session_actor::stateful_pointer<fake_session_state> self,
             std::shared_ptr<fake_server> srv) {
  self->state.server = srv;
  self->state.index = srv->sessions.size();
  srv->sessions.push_back(self);
  auto fail_quit = [self](const caf::error& held_err, caf::error reason) {
    for (auto& rp : self->state.held)
      rp.deliver(held_err);
    self->state.held.clear();
    self->quit(std::move(reason));
  };
  return {
    [self](init_atom) -> caf::result<initialize_result> {
      auto& server = *self->state.server;
      if (server.hang_starts > 0) {
        --server.hang_starts;
        auto rp = self->make_response_promise<initialize_result>();
        self->state.hung.push_back(rp);
        return rp;
      }
      if (server.fail_starts > 0) {
        --server.fail_starts;
        auto err = server.start_error;
        self->quit(err);
        return err;
      }
      initialize_result res;
      res.protocol_version = "2025-06-18";
      res.server_info.name = "fake";
      res.server_info.version = "1";
      return res;
    },
    [self](list_atom) -> std::vector<tool> {
      return self->state.server->tools;
    },
    [self](list_atom, call_options& opts) -> std::vector<tool> {
      self->state.server->last_timeout = opts.timeout;
      return self->state.server->tools;
    },
    [self](call_atom, std::string& name, std::string& args,
           call_options& opts) -> caf::result<call_tool_result> {
      auto& st = self->state;
      st.server->call_headers.push_back(opts.headers);
      if (!st.server->required_token.empty()) {
        std::string auth;
        for (auto& h : opts.headers)
          if (h.first == "Authorization")
            auth = h.second;
        if (auth != "Bearer " + st.server->required_token)
          return caf::make_error(mcp_errc::unauthorized, "POST -> 401");
      }
      if (!st.server->call_faults.empty()) {
        auto fault = std::move(st.server->call_faults.front());
        st.server->call_faults.pop_front();
        if (fault.runs)
          st.server->executed.emplace_back(st.index, name, args);
        return fault.err;
      }
      st.server->executed.emplace_back(st.index, name, args);
      if (name == "hold") {
        auto rp = self->make_response_promise<call_tool_result>();
        st.held.push_back(rp);
        return rp;
      }
      return text_result(args);
    },
    [](request_atom, std::string&, std::string&,
       call_options&) -> std::string { return "{}"; },
    [](caf::ping_atom) -> caf::timespan { return 1ms; },
    [self](caf::ping_atom, call_options& opts) -> caf::timespan {
      self->state.server->last_timeout = opts.timeout;
      return 1ms;
    },
    [](caf::subscribe_atom, caf::actor&) {},
    [](caf::unsubscribe_atom, caf::actor&) {},
    [self](caf::close_atom) {
      for (auto& rp : self->state.held)
        rp.deliver(caf::make_error(mcp_errc::closed, "closed"));
      self->quit();
    },
    [self, fail_quit](control_atom, int64_t code) {
      auto& st = self->state;
      switch (code) {
        case die:
          fail_quit(caf::make_error(mcp_errc::connection_lost, "gone"),
                    caf::make_error(mcp_errc::connection_lost, "stream ended"));
          break;
        case answer_all:
          for (auto& rp : st.held)
            rp.deliver(text_result("held"));
          st.held.clear();
          break;
        case expire_first:
          if (!st.held.empty()) {
            st.held.front().deliver(
              caf::make_error(mcp_errc::session_expired, "POST -> 404"));
            st.held.pop_front();
          }
          fail_quit(caf::make_error(mcp_errc::connection_lost, "expired"),
                    caf::make_error(mcp_errc::session_expired, "POST -> 404"));
          break;
        case unknown_first:
          if (!st.held.empty()) {
            st.held.front().deliver(caf::make_error(
              mcp_errc::outcome_unknown, "POST broke after it was written"));
            st.held.pop_front();
          }
          break;
      }
    },
  };
}


} // namespace caf_mcp::test
