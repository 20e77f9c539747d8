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
#include "caf_mcp/transport/log.hpp"
#include "caf_mcp/transport/url.hpp"

namespace caf_mcp {

namespace {

using self_ptr = supervisor_impl_actor::stateful_pointer<supervisor_state>;
using time_point = caf::actor_clock::time_point;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

caf::timespan effective(caf::timespan x, caf::timespan fallback) {
  return x.count() > 0 ? x : fallback;
}

/// The server's name for messages and logs: never a URL's secrets.
const std::string& name_of(self_ptr self) {
  return self->state.label;
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
  if (self->state.status.phase != phase)
    CAF_MCP_LOG_INFO("supervisor", name_of(self) << ": " << to_string(phase));
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
  // One timer for every queued job: armed for the earliest deadline.
  st.queue_timer.arm_no_later(job->deadline);
}

/// Sends `job` to the current (ready) session.
void send_job(self_ptr self, const sup_job_ptr& job) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (now >= job->deadline) {
    fail_job(self, job,
             caf::make_error(mcp_errc::queue_timeout,
                             "the call's deadline passed before a session to "
                               + name_of(self) + " was ready"));
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
  // "connection_lost: ... was lost: stream ended", not "...: connection_lost:
  // stream ended": the code is said once.
  auto why = render(cause);
  constexpr std::string_view same = "connection_lost: ";
  if (why.compare(0, same.size(), same) == 0)
    why.erase(0, same.size());
  fail_job(self, job,
           caf::make_error(mcp_errc::connection_lost,
                           "in flight when the session to " + name_of(self)
                             + " was lost: " + why));
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
  job->resend_at = now + delay;
  st.parked.emplace(job->id, job);
  // One timer for every parked job: armed for the earliest resend.
  st.park_timer.arm_no_later(job->resend_at);
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
                              + name_of(self));
    else if (err.code()
             == static_cast<uint8_t>(caf::sec::request_receiver_down))
      // The session was gone before it got the call: never sent.
      err = caf::make_error(mcp_errc::not_initialized,
                            "the session to " + name_of(self)
                              + " ended before it got the call");
  }
  mcp_errc code{};
  if (get_mcp_errc(err, code) && code == mcp_errc::outcome_unknown
      && job->retryable && !job->resent) {
    // The server may have run it, and the caller allows it to run twice.
    st.in_flight.erase(job->id);
    settle_lost(self, job, err);
    return;
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
      if (!admitted && st.in_flight.size() >= st.cfg->max_in_flight) {
        fail_job(self, job,
                 caf::make_error(mcp_errc::queue_full,
                                 std::to_string(st.in_flight.size())
                                   + " calls already in flight to "
                                   + name_of(self) + " (max_in_flight)"));
        return;
      }
      send_job(self, job);
      return;
    case link_phase::gave_up:
      fail_job(self, job,
               st.status.last_error
                 ? caf::make_error(mcp_errc::gave_up,
                                   "stopped reconnecting to " + name_of(self)
                                     + ": " + render(st.status.last_error))
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
                                   + name_of(self)));
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
  auto sorted = tools;
  sort_tools(sorted);
  auto next = intern_tools(std::move(sorted));
  if (next == st.tools)
    return; // The same list as before: nothing changed.
  auto diff = diff_tools(st.tools ? *st.tools : std::vector<tool>{}, *next);
  st.tools = std::move(next);
  if (!empty(diff)) {
    CAF_MCP_LOG_INFO("supervisor", name_of(self)
                                     << ": tools changed: "
                                     << diff.added.size() << " added, "
                                     << diff.removed.size() << " removed, "
                                     << diff.changed.size() << " changed");
    publish(self, caf::make_message(tools_diff_atom::value, st.label,
                                    std::move(diff)));
  }
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
                                 "gave up on " + name_of(self) + " after "
                                   + std::to_string(st.policy->attempts())
                                   + " attempts; last error: " + render(cause))
               : cause;
  CAF_MCP_LOG_WARN("supervisor", name_of(self) << ": giving up: "
                                                << render(err));
  st.reconnect_timer.cancel();
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
  self->send(self, settle_atom::value,
             settle_lost_calls{st.status.sessions_started});
  CAF_MCP_LOG_INFO("supervisor", name_of(self) << ": session lost: "
                                                 << render(cause));
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
  st.reconnect_timer.arm_in(caf::timespan{*delay});
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
  st.reconnect_timer.cancel();
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

void on_reconnect_timer(self_ptr self) {
  if (self->state.status.phase == link_phase::backing_off)
    start_session(self);
}

/// The park timer fired: parked jobs whose time came go out again.
void on_park_timer(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  std::vector<sup_job_ptr> due;
  auto next = time_point::max();
  for (auto& kvp : st.parked) {
    if (now >= kvp.second->resend_at)
      due.push_back(kvp.second);
    else
      next = std::min(next, kvp.second->resend_at);
  }
  std::sort(due.begin(), due.end(),
            [](const sup_job_ptr& x, const sup_job_ptr& y) {
              return x->id < y->id;
            });
  for (auto& job : due) {
    st.parked.erase(job->id);
    ++st.status.calls_resent;
    dispatch(self, job, true);
  }
  if (next != time_point::max())
    st.park_timer.arm_no_later(next);
}

/// Why no session is ready (for a call that waited in vain): the last
/// error, or what the current attempt is still waiting for.
std::string why_not_ready(self_ptr self) {
  auto& st = self->state;
  std::string what;
  if (st.status.phase == link_phase::connecting && st.session) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                self->clock().now() - st.started_at)
                .count();
    what = "; attempt " + std::to_string(st.status.sessions_started)
           + " (started " + std::to_string(ms)
           + " ms ago) got no endpoint event or no answer to initialize yet";
  } else if (st.status.phase == link_phase::backing_off) {
    what = "; backing off before the next attempt";
  }
  if (st.status.last_error)
    what += "; last error: " + render(st.status.last_error);
  return what;
}

/// The queue timer fired: queued jobs whose deadline passed fail.
void on_queue_timer(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  std::vector<sup_job_ptr> due;
  auto next = time_point::max();
  for (auto& kvp : st.queued) {
    if (now >= kvp.second->deadline)
      due.push_back(kvp.second);
    else
      next = std::min(next, kvp.second->deadline);
  }
  if (!due.empty()) {
    auto err = caf::make_error(mcp_errc::queue_timeout,
                               "no session to " + name_of(self)
                                 + " became ready before the call's deadline"
                                 + why_not_ready(self));
    for (auto& job : due) {
      st.queued.erase(job->id);
      fail_job(self, job, err);
    }
  }
  if (next != time_point::max())
    st.queue_timer.arm_no_later(next);
}

void close_all(self_ptr self) {
  auto& st = self->state;
  auto err = caf::make_error(mcp_errc::closed, "the supervisor of "
                                                 + name_of(self)
                                                 + " was closed");
  st.reconnect_timer.cancel();
  st.queue_timer.cancel();
  st.park_timer.cancel();
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
  // A name that is a URL (the CLI's default) loses its secrets in messages.
  auto& name = st.cfg->session.server_name;
  if (name.empty())
    st.label = transport::redact(st.cfg->session.sse_url);
  else if (name.find("://") != std::string::npos)
    st.label = transport::redact(name);
  else
    st.label = name;
  st.status.server = st.label;
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

caf::result<std::vector<tool>> list_job(self_ptr self,
                                        const call_options& opts) {
  auto rp = self->make_response_promise<std::vector<tool>>();
  auto job = make_job(self, opts.timeout, false);
  job->send = [rp](self_ptr me, const sup_job_ptr& j, const session_actor& s,
                   caf::timespan left) {
    call_options o;
    o.timeout = left;
    forward<std::vector<tool>>(
      me, j, s, rp,
      [](self_ptr me2, std::vector<tool>& tools) { apply_tools(me2, tools); },
      list_atom::value, std::move(o));
  };
  job->fail = [rp](const caf::error& err) mutable { rp.deliver(err); };
  dispatch(self, job, false);
  return rp;
}

caf::result<caf::timespan> ping_job(self_ptr self, const call_options& opts) {
  auto rp = self->make_response_promise<caf::timespan>();
  // A ping is about this session: never resent on another one. It carries
  // what is left of the caller's deadline, so a ping the caller gave up on
  // does not stay in the session.
  auto job = make_job(self, opts.timeout, false);
  job->send = [rp](self_ptr me, const sup_job_ptr& j, const session_actor& s,
                   caf::timespan left) {
    call_options o;
    o.timeout = left;
    forward<caf::timespan>(me, j, s, rp, nullptr, caf::ping_atom::value,
                           std::move(o));
  };
  job->fail = [rp](const caf::error& err) mutable { rp.deliver(err); };
  dispatch(self, job, false);
  return rp;
}

} // namespace

supervisor_state::~supervisor_state() {
  if (session)
    caf::anon_send(session, caf::close_atom::value);
}

supervisor_impl_actor::behavior_type
supervisor(supervisor_impl_actor::stateful_pointer<supervisor_state> self,
           supervisor_config_ptr cfg, uint32_t member) {
  self->state.reconnect_timer.init(self, [self] { on_reconnect_timer(self); });
  self->state.queue_timer.init(self, [self] { on_queue_timer(self); });
  self->state.park_timer.init(self, [self] { on_park_timer(self); });
  init_supervisor(self, std::move(cfg), member);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.subscribers.on_down(msg.source))
      return;
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
      return list_job(self, call_options{});
    },
    [self](list_atom, call_options& opts) -> caf::result<std::vector<tool>> {
      return list_job(self, opts);
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
      return ping_job(self, call_options{});
    },
    [self](caf::ping_atom, call_options& opts) -> caf::result<caf::timespan> {
      return ping_job(self, opts);
    },
    [self](caf::get_atom) -> link_status { return current_status(self); },
    [self](caf::subscribe_atom, caf::actor& sub) {
      if (self->state.subscribers.add(self, sub))
        caf::send_as(caf::actor_cast<caf::actor>(self), sub, link_atom::value,
                     current_status(self));
    },
    [self](caf::unsubscribe_atom, caf::actor& sub) {
      self->state.subscribers.remove(self, sub.address());
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
      // Only the current session speaks for the server: a late list from
      // an old one (or anybody else) is ignored.
      auto& st = self->state;
      if (st.session && self->current_sender() == st.session.address())
        apply_tools(self, tools);
    },
    [self](log_atom, std::string& server, logging_message_params& params) {
      auto& st = self->state;
      if (st.session && self->current_sender() == st.session.address())
        publish(self, caf::make_message(log_atom::value, std::move(server),
                                        std::move(params)));
    },
    [self](settle_atom, settle_lost_calls& what) {
      settle_in_flight(self, what.session);
    },
  };
}

} // namespace caf_mcp
