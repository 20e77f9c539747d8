#include "caf_mcp/actors/supervisor.hpp"

#include <algorithm>
#include <random>
#include <utility>

#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/make_message.hpp"
#include "caf/send.hpp"
#include "caf/sec.hpp"

#include "caf_mcp/actors/recovery.hpp"

namespace caf_mcp {

namespace {

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;
using time_point = caf::actor_clock::time_point;

/// Timer ids of (tick_atom, id): the reconnect timer carries its generation,
/// a parked job its id with the park bit, a queued job's deadline its id.
constexpr uint64_t reconnect_bit = uint64_t{1} << 63;
constexpr uint64_t park_bit = uint64_t{1} << 62;
/// (tick_atom, settle_bit | n): settle the calls still in flight on the lost
/// session number n.
constexpr uint64_t settle_bit = uint64_t{1} << 61;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

caf::timespan effective(caf::timespan x, caf::timespan fallback) {
  return x.count() > 0 ? x : fallback;
}

void publish(self_ptr self, const caf::message& msg) {
  // Subscribers are dynamically typed (a typed actor may not `send` to
  // them), but they learn who sent it: a health monitor tells its servers
  // apart by the sender.
  auto me = caf::actor_cast<caf::actor>(self);
  for (auto& sub : self->state.subscribers)
    caf::send_as(me, sub, msg);
}

link_status current_status(self_ptr self) {
  auto& st = self->state;
  auto out = st.status;
  out.queued = st.queued.size() + st.parked.size();
  out.in_flight = st.in_flight.size();
  out.attempts = st.policy ? st.policy->attempts() : 0;
  return out;
}

void set_phase(self_ptr self, link_phase phase) {
  self->state.status.phase = phase;
  publish(self, caf::make_message(link_atom::value, current_status(self)));
}

void start_session(self_ptr self);
void dispatch(self_ptr self, const sup_job_ptr& job, bool admitted);
void handle_loss(self_ptr self, const session_actor& s, caf::error cause);

// -- jobs ---------------------------------------------------------------------

void fail_job(self_ptr self, const sup_job_ptr& job, const caf::error& err) {
  ++self->state.status.calls_failed;
  job->fail(err);
}

bool still_current(self_ptr self, const sup_job_ptr& job, uint64_t attempt) {
  auto& st = self->state;
  if (job->attempt != attempt)
    return false;
  auto i = st.in_flight.find(job->id);
  return i != st.in_flight.end() && i->second == job;
}

/// A reply arrived for `job`: it is done, and the session proved itself.
void settle_ok(self_ptr self, const sup_job_ptr& job) {
  auto& st = self->state;
  st.in_flight.erase(job->id);
  ++st.status.calls_ok;
  if (!st.proved) {
    st.proved = true;
    st.policy->reset();
  }
}

void enqueue(self_ptr self, const sup_job_ptr& job) {
  auto& st = self->state;
  st.queued.emplace(job->id, job);
  auto left = job->deadline - self->clock().now();
  self->delayed_send(self, std::max(left, caf::timespan{0}), tick_atom::value,
                     job->id);
}

/// Sends `job` to the current (ready) session.
void send_job(self_ptr self, const sup_job_ptr& job) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (now >= job->deadline) {
    fail_job(self, job,
             caf::make_error(mcp_errc::queue_timeout,
                             "the call's deadline passed before a session to "
                               + st.cfg->session.server_name + " was ready"));
    return;
  }
  ++job->attempt;
  job->sent_on = st.status.sessions_started;
  st.in_flight[job->id] = job;
  job->send(self, job, st.session, job->deadline - now);
}

/// A call of a lost session: retryable calls go out once more, the others
/// fail with connection_lost.
void settle_lost(self_ptr self, const sup_job_ptr& job,
                 const caf::error& cause) {
  auto& st = self->state;
  if (job->retryable && !job->resent) {
    job->resent = true;
    ++st.status.calls_resent;
    dispatch(self, job, true);
    return;
  }
  fail_job(self, job,
           caf::make_error(mcp_errc::connection_lost,
                           "in flight when the session to "
                             + st.cfg->session.server_name
                             + " was lost: " + render(cause)));
}

/// The server never executed `job`: send it again after the Retry-After (or
/// the backoff base), unless its deadline comes first.
void park(self_ptr self, const sup_job_ptr& job, const caf::error& err) {
  auto& st = self->state;
  caf::timespan delay = st.cfg->backoff.base;
  if (auto ra = retry_after(err, std::chrono::system_clock::now()))
    delay = std::max(delay, caf::timespan{*ra});
  auto now = self->clock().now();
  if (now + delay >= job->deadline) {
    fail_job(self, job, err);
    return;
  }
  st.parked.emplace(job->id, job);
  self->delayed_send(self, delay, tick_atom::value, park_bit | job->id);
}

void on_job_error(self_ptr self, const sup_job_ptr& job, uint64_t attempt,
                  const session_actor& s, caf::error err) {
  auto& st = self->state;
  if (!still_current(self, job, attempt))
    return;
  if (err.category() == caf::atom("system")) {
    if (err.code() == static_cast<uint8_t>(caf::sec::request_timeout))
      err = caf::make_error(mcp_errc::timeout,
                            "no answer from the session to "
                              + st.cfg->session.server_name);
    else if (err.code()
             == static_cast<uint8_t>(caf::sec::request_receiver_down))
      // The session was gone before it got the call: never sent.
      err = caf::make_error(mcp_errc::not_initialized,
                            "the session to " + st.cfg->session.server_name
                              + " ended before it got the call");
  }
  switch (classify_call_error(err)) {
    case call_fate::deliver:
      st.in_flight.erase(job->id);
      fail_job(self, job, err);
      return;
    case call_fate::resend_later:
      st.in_flight.erase(job->id);
      park(self, job, err);
      if (ends_session(err))
        handle_loss(self, s, err);
      return;
    case call_fate::session_lost:
      if (s == st.session) {
        handle_loss(self, s, err); // Settles this job too.
      } else {
        st.in_flight.erase(job->id);
        settle_lost(self, job, err);
      }
      return;
  }
}

/// Sends the job now, queues it until ready, or fails it (gave up, closed,
/// queue full). `admitted`: the job was accepted before (a resend), so the
/// queue bound does not apply.
void dispatch(self_ptr self, const sup_job_ptr& job, bool admitted) {
  auto& st = self->state;
  switch (st.status.phase) {
    case link_phase::ready:
      send_job(self, job);
      return;
    case link_phase::gave_up:
      fail_job(self, job,
               st.status.last_error
                 ? caf::make_error(mcp_errc::gave_up,
                                   "stopped reconnecting to "
                                     + st.cfg->session.server_name + ": "
                                     + render(st.status.last_error))
                 : caf::make_error(mcp_errc::gave_up, "stopped reconnecting"));
      return;
    case link_phase::closed:
      fail_job(self, job,
               caf::make_error(mcp_errc::closed, "the supervisor is closed"));
      return;
    default:
      if (!admitted && st.queued.size() >= st.cfg->max_queued_calls) {
        fail_job(self, job,
                 caf::make_error(mcp_errc::queue_full,
                                 std::to_string(st.queued.size())
                                   + " calls already wait for a session to "
                                   + st.cfg->session.server_name));
        return;
      }
      enqueue(self, job);
  }
}

sup_job_ptr make_job(self_ptr self, caf::timespan timeout, bool retryable) {
  auto& st = self->state;
  auto job = std::make_shared<sup_job>();
  job->id = st.next_job++;
  job->deadline = self->clock().now()
                  + effective(timeout, st.cfg->session.request_timeout);
  job->retryable = retryable;
  return job;
}

/// Wires the reply of a request to a session into the job machinery.
template <class T, class Promise, class Handle, class... Ts>
void forward(self_ptr self, const sup_job_ptr& job, const Handle& s,
             Promise rp,
             std::function<void(self_ptr, T&)> on_value, Ts&&... xs) {
  auto attempt = job->attempt;
  // No request timeout: the session enforces the call's deadline, and if it
  // dies the down handler settles the job (a timeout here would wake CAF's
  // clock thread on every call).
  self->request(s, caf::infinite, std::forward<Ts>(xs)...)
    .then(
      [self, job, attempt, rp, on_value](T& value) mutable {
        if (!still_current(self, job, attempt))
          return;
        settle_ok(self, job);
        if (on_value)
          on_value(self, value);
        rp.deliver(std::move(value));
      },
      [self, job, attempt, s](caf::error& err) {
        on_job_error(self, job, attempt, s, std::move(err));
      });
}

// -- tools --------------------------------------------------------------------

void apply_tools(self_ptr self, const std::vector<tool>& tools) {
  auto& st = self->state;
  auto next = intern_tools(tools);
  if (next == st.tools)
    return; // The same list as before: nothing changed.
  auto diff = diff_tools(st.tools ? *st.tools : std::vector<tool>{}, *next);
  st.tools = std::move(next);
  if (!empty(diff))
    publish(self, caf::make_message(tools_diff_atom::value,
                                    st.cfg->session.server_name,
                                    std::move(diff)));
}

// -- session lifecycle ----------------------------------------------------------

void on_ready(self_ptr self, const session_actor& s, initialize_result& res) {
  auto& st = self->state;
  auto now = self->clock().now();
  st.init = std::move(res);
  st.policy->on_connected(now);
  st.status.ready_since_ms = wall_ms();
  st.status.last_connect = now - st.started_at;
  st.status.longest_connect
    = std::max(st.status.longest_connect, st.status.last_connect);
  if (st.lost_at) {
    st.status.longest_recovery
      = std::max(st.status.longest_recovery, caf::timespan{now - *st.lost_at});
    st.lost_at.reset();
  }
  set_phase(self, link_phase::ready);
  for (auto& rp : st.init_waiters)
    rp.deliver(st.init);
  st.init_waiters.clear();
  auto queued = std::move(st.queued);
  st.queued.clear();
  for (auto& kvp : queued)
    if (st.status.phase == link_phase::ready)
      send_job(self, kvp.second);
    else
      dispatch(self, kvp.second, true);
  if (st.cfg->fetch_tools && st.session == s)
    self
      ->request(s, caf::infinite, list_atom::value)
      .then(
        [self, s](std::vector<tool>& tools) {
          if (self->state.session == s)
            apply_tools(self, tools);
        },
        [](caf::error&) {
          // A failed listing ends with the session or is retried on the
          // next list_changed; the session's own death restarts it.
        });
}

void give_up(self_ptr self, const caf::error& cause, bool exhausted) {
  auto& st = self->state;
  st.status.last_error = cause;
  auto err = exhausted
               ? caf::make_error(mcp_errc::gave_up,
                                 "gave up on " + st.cfg->session.server_name
                                   + " after "
                                   + std::to_string(st.policy->attempts())
                                   + " attempts; last error: " + render(cause))
               : cause;
  set_phase(self, link_phase::gave_up);
  for (auto& rp : st.init_waiters)
    rp.deliver(err);
  st.init_waiters.clear();
  auto queued = std::move(st.queued);
  st.queued.clear();
  auto parked = std::move(st.parked);
  st.parked.clear();
  for (auto& kvp : queued)
    fail_job(self, kvp.second, err);
  for (auto& kvp : parked)
    fail_job(self, kvp.second, err);
}

void handle_loss(self_ptr self, const session_actor& s, caf::error cause) {
  auto& st = self->state;
  if (!s || s != st.session || st.status.phase == link_phase::closed)
    return;
  if (!cause)
    cause = caf::make_error(mcp_errc::connection_lost, "the session ended");
  auto was_ready = st.status.phase == link_phase::ready;
  self->demonitor(s.address());
  self->send(s, caf::close_atom::value);
  st.session = nullptr;
  auto now = self->clock().now();
  if (was_ready) {
    st.policy->on_disconnected(now);
    st.lost_at = now;
    st.status.ready_since_ms = 0;
  } else if (!st.lost_at && st.status.sessions_started > 1) {
    st.lost_at = now;
  }
  st.status.last_error = cause;
  st.loss_cause = cause;
  // Not ready while deciding: resent calls wait in the queue.
  st.status.phase = link_phase::backing_off;
  // Settle the calls sent to the lost session, but only after the replies
  // already on their way got here: every request sent to a session is
  // answered before its down message (results, or the errors of its
  // shutdown, or bounces of its closed mailbox), except a request sent after
  // it died, whose bounce (never executed: sent again) may queue up behind
  // the down message. A message to ourselves queues up behind all of them.
  self->send(self, tick_atom::value, settle_bit | st.status.sessions_started);
  if (!st.cfg->restart
      || on_session_end(cause, st.cfg->retry_auth_failures)
           == loss_action::give_up) {
    give_up(self, cause, false);
    return;
  }
  if (auto ra = retry_after(cause, std::chrono::system_clock::now()))
    st.policy->set_floor(*ra);
  else
    st.policy->set_floor(transport::backoff::duration{0});
  auto delay = st.policy->next_delay();
  if (!delay) {
    give_up(self, cause, true);
    return;
  }
  st.status.next_attempt_in = caf::timespan{*delay};
  ++st.timer_generation;
  self->delayed_send(self, caf::timespan{*delay}, tick_atom::value,
                     reconnect_bit | st.timer_generation);
  set_phase(self, link_phase::backing_off);
}

session_actor spawn_one(self_ptr self) {
  auto& st = self->state;
  if (st.cfg->make_session)
    return st.cfg->make_session(self->system(), st.cfg->session);
  return self->system().spawn(session, st.session_cfg);
}

void start_session(self_ptr self) {
  auto& st = self->state;
  ++st.timer_generation; // A pending reconnect timer is now stale.
  st.proved = false;
  st.status.next_attempt_in = caf::timespan{0};
  if (st.status.sessions_started > 0)
    ++st.status.reconnects;
  ++st.status.sessions_started;
  st.started_at = self->clock().now();
  auto s = spawn_one(self);
  st.session = s;
  self->monitor(s);
  self->send(s, caf::subscribe_atom::value, caf::actor_cast<caf::actor>(self));
  set_phase(self, link_phase::connecting);
  auto limit = st.cfg->session.endpoint_timeout
               + st.cfg->session.request_timeout + std::chrono::seconds{5};
  self->request(s, limit, init_atom::value)
    .then(
      [self, s](initialize_result& res) {
        if (self->state.session == s)
          on_ready(self, s, res);
      },
      [self, s](caf::error& err) { handle_loss(self, s, std::move(err)); });
}

/// Settles the calls still in flight on lost session number `n`, in
/// arrival order: retryable ones go out once more, the rest fail with
/// connection_lost.
void settle_in_flight(self_ptr self, uint64_t n) {
  auto& st = self->state;
  std::vector<sup_job_ptr> jobs;
  for (auto& kvp : st.in_flight)
    if (kvp.second->sent_on == n)
      jobs.push_back(kvp.second);
  std::sort(jobs.begin(), jobs.end(),
            [](const sup_job_ptr& x, const sup_job_ptr& y) {
              return x->id < y->id;
            });
  for (auto& job : jobs) {
    st.in_flight.erase(job->id);
    settle_lost(self, job, st.loss_cause);
  }
}

void on_tick(self_ptr self, uint64_t id) {
  auto& st = self->state;
  if ((id & settle_bit) != 0) {
    settle_in_flight(self, id & ~settle_bit);
    return;
  }
  if ((id & reconnect_bit) != 0) {
    if ((id & ~reconnect_bit) == st.timer_generation
        && st.status.phase == link_phase::backing_off)
      start_session(self);
    return;
  }
  if ((id & park_bit) != 0) {
    auto i = st.parked.find(id & ~park_bit);
    if (i == st.parked.end())
      return;
    auto job = std::move(i->second);
    st.parked.erase(i);
    ++st.status.calls_resent;
    dispatch(self, job, true);
    return;
  }
  auto i = st.queued.find(id);
  if (i == st.queued.end())
    return;
  auto now = self->clock().now();
  if (now < i->second->deadline) {
    self->delayed_send(self, i->second->deadline - now, tick_atom::value, id);
    return;
  }
  auto job = std::move(i->second);
  st.queued.erase(i);
  std::string what = "no session to " + st.cfg->session.server_name
                     + " became ready before the call's deadline";
  if (st.status.last_error)
    what += "; last error: " + render(st.status.last_error);
  fail_job(self, job, caf::make_error(mcp_errc::queue_timeout, what));
}

void close_all(self_ptr self) {
  auto& st = self->state;
  auto err = caf::make_error(mcp_errc::closed, "the supervisor of "
                                                 + st.cfg->session.server_name
                                                 + " was closed");
  if (st.session) {
    self->demonitor(st.session.address());
    self->send(st.session, caf::close_atom::value);
    st.session = nullptr;
  }
  set_phase(self, link_phase::closed);
  for (auto& rp : st.init_waiters)
    rp.deliver(err);
  st.init_waiters.clear();
  std::vector<sup_job_ptr> jobs;
  for (auto& kvp : st.queued)
    jobs.push_back(kvp.second);
  for (auto& kvp : st.parked)
    jobs.push_back(kvp.second);
  for (auto& kvp : st.in_flight)
    jobs.push_back(kvp.second);
  st.queued.clear();
  st.parked.clear();
  st.in_flight.clear();
  for (auto& job : jobs)
    fail_job(self, job, err);
}

void init_supervisor(self_ptr self, supervisor_config_ptr cfg,
                     uint32_t member) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.session_cfg = session_config_ptr{st.cfg, &st.cfg->session};
  st.status.server = st.cfg->session.server_name;
  st.status.member = member;
  auto problem = transport::validate(st.cfg->backoff);
  if (problem.empty()) {
    auto seed = st.cfg->seed != 0 ? st.cfg->seed + member
                                  : std::random_device{}();
    st.policy = std::make_unique<transport::backoff>(
      st.cfg->backoff, transport::make_random_source(seed));
    start_session(self);
  } else {
    // Keep the default policy object so status queries work; never connect.
    st.policy = std::make_unique<transport::backoff>(
      supervisor_config::default_backoff(), transport::make_random_source(1));
    give_up(self,
            caf::make_error(mcp_errc::invalid_argument,
                            "bad backoff configuration: " + problem),
            false);
  }
}

} // namespace

supervisor_state::~supervisor_state() {
  if (session)
    caf::anon_send(session, caf::close_atom::value);
}

supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           supervisor_config_ptr cfg, uint32_t member) {
  init_supervisor(self, std::move(cfg), member);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.session && msg.source == st.session.address())
      handle_loss(self, st.session, std::move(msg.reason));
  });
  return {
    [self](init_atom) -> caf::result<initialize_result> {
      auto& st = self->state;
      switch (st.status.phase) {
        case link_phase::ready:
          return st.init;
        case link_phase::gave_up:
          return st.status.last_error;
        case link_phase::closed:
          return caf::make_error(mcp_errc::closed, "the supervisor is closed");
        default: {
          auto rp = self->make_response_promise<initialize_result>();
          st.init_waiters.push_back(rp);
          return rp;
        }
      }
    },
    [self](list_atom) -> caf::result<std::vector<tool>> {
      auto rp = self->make_response_promise<std::vector<tool>>();
      auto job = make_job(self, caf::timespan{0}, false);
      job->send = [rp](self_ptr me, const sup_job_ptr& j,
                       const session_actor& s, caf::timespan) {
        forward<std::vector<tool>>(
          me, j, s, rp,
          [](self_ptr me2, std::vector<tool>& tools) {
            apply_tools(me2, tools);
          },
          list_atom::value);
      };
      job->fail = [rp](const caf::error& err) mutable { rp.deliver(err); };
      dispatch(self, job, false);
      return rp;
    },
    [self](call_atom, std::string& name, std::string& args,
           call_options& opts) -> caf::result<call_tool_result> {
      if (!args.empty())
        if (auto err = check_json_object_text(args))
          return err;
      auto rp = self->make_response_promise<call_tool_result>();
      auto job = make_job(self, opts.timeout, opts.retryable);
      job->send = [rp, name = std::move(name), args = std::move(args),
                   opts](self_ptr me, const sup_job_ptr& j,
                         const session_actor& s, caf::timespan left) {
        auto o = opts;
        o.timeout = left;
        forward<call_tool_result>(me, j, s, rp, nullptr,
                                  call_atom::value, name, args, std::move(o));
      };
      job->fail = [rp](const caf::error& err) mutable { rp.deliver(err); };
      dispatch(self, job, false);
      return rp;
    },
    [self](request_atom, std::string& method, std::string& params,
           call_options& opts) -> caf::result<std::string> {
      if (!params.empty())
        if (auto err = check_json_object_text(params))
          return err;
      auto rp = self->make_response_promise<std::string>();
      auto job = make_job(self, opts.timeout, opts.retryable);
      job->send = [rp, method = std::move(method), params = std::move(params),
                   opts](self_ptr me, const sup_job_ptr& j,
                         const session_actor& s, caf::timespan left) {
        auto o = opts;
        o.timeout = left;
        forward<std::string>(me, j, s, rp, nullptr,
                             request_atom::value, method, params,
                             std::move(o));
      };
      job->fail = [rp](const caf::error& err) mutable { rp.deliver(err); };
      dispatch(self, job, false);
      return rp;
    },
    [self](caf::ping_atom) -> caf::result<caf::timespan> {
      auto rp = self->make_response_promise<caf::timespan>();
      // A ping is about this session: never resent on another one.
      auto job = make_job(self, caf::timespan{0}, false);
      job->send = [rp](self_ptr me, const sup_job_ptr& j,
                       const session_actor& s, caf::timespan) {
        forward<caf::timespan>(me, j, s, rp, nullptr,
                               caf::ping_atom::value);
      };
      job->fail = [rp](const caf::error& err) mutable { rp.deliver(err); };
      dispatch(self, job, false);
      return rp;
    },
    [self](caf::get_atom) -> link_status { return current_status(self); },
    [self](caf::subscribe_atom, caf::actor& sub) {
      auto& st = self->state;
      caf::send_as(caf::actor_cast<caf::actor>(self), sub, link_atom::value,
                   current_status(self));
      st.subscribers.emplace_back(std::move(sub));
    },
    [self](retry_atom) {
      auto& st = self->state;
      if (st.status.phase == link_phase::gave_up) {
        if (!transport::validate(st.cfg->backoff).empty())
          return;
        st.policy->reset();
        start_session(self);
      } else if (st.status.phase == link_phase::backing_off) {
        start_session(self);
      }
    },
    [self](restart_atom, caf::error& why) {
      auto& st = self->state;
      if (!st.session)
        return;
      if (!why)
        why = caf::make_error(mcp_errc::connection_lost, "restart requested");
      handle_loss(self, st.session, std::move(why));
    },
    [self](caf::close_atom) {
      close_all(self);
      self->quit();
    },
    [self](tools_changed_atom, std::string&, std::vector<tool>& tools) {
      // Sessions notify anonymously; a late list from a closed session is
      // corrected by the listing after the next start.
      if (self->state.session)
        apply_tools(self, tools);
    },
    [self](log_atom, std::string& server, logging_message_params& params) {
      publish(self, caf::make_message(log_atom::value, std::move(server),
                                      std::move(params)));
    },
    [self](tick_atom, uint64_t id) { on_tick(self, id); },
  };
}

} // namespace caf_mcp
