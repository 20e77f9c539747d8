#pragma once

/// One cancellable timer of an actor on CAF's clock.
///
/// CAF 0.17 cannot cancel a `delayed_send`: every re-arm leaves the old
/// entry on the clock until it is due, so an actor that re-arms for a
/// shorter deadline, or sends one delayed message per queued job, makes
/// the clock grow with call rate x timeout. Request timeouts, however, can
/// be cancelled. An `actor_timer` is a request timeout on a response id of
/// its own: `arm` cancels the previous entry and sets the new one, so each
/// timer holds at most one clock entry at any time. When it fires, the
/// clock delivers `sec::request_timeout` as a response to that id; the
/// handler registered for it calls `on_fire`.
///
/// Use one per purpose (request deadlines, the endpoint wait, ...), as a
/// member of the actor's state, initialised in the actor's constructor
/// function: `st.timer.init(self, [self] { on_deadline(self); })`.
/// A stale firing (a message that was already queued when `arm` moved the
/// timer) calls `on_fire` too: callers recompute from their own state
/// (a sweep that finds nothing due re-arms for the earliest deadline).

#include <functional>

#include "caf/actor_clock.hpp"
#include "caf/behavior.hpp"
#include "caf/error.hpp"
#include "caf/message_id.hpp"
#include "caf/scheduled_actor.hpp"

namespace caf_mcp {

class actor_timer {
public:
  using time_point = caf::actor_clock::time_point;

  actor_timer() = default;
  actor_timer(const actor_timer&) = delete;
  actor_timer& operator=(const actor_timer&) = delete;

  /// Binds the timer to `self` (once). `on_fire` runs inside the actor.
  void init(caf::scheduled_actor* self, std::function<void()> on_fire) {
    self_ = self;
    on_fire_ = std::move(on_fire);
    id_ = self->new_request_id(caf::message_priority::normal).response_id();
  }

  /// Fires at `at` (replacing any earlier arming). Arming for the time it
  /// is already armed for costs nothing.
  void arm(time_point at) {
    if (armed_ && at_ == at)
      return;
    auto& clock = self_->clock();
    if (armed_)
      clock.cancel_request_timeout(self_, id_);
    if (!handler_) {
      // One handler per firing: CAF erases it when the response arrives.
      self_->add_multiplexed_response_handler(
        id_, caf::behavior{[this](caf::error&) {
          handler_ = false;
          armed_ = false;
          on_fire_();
        }});
      handler_ = true;
    }
    clock.set_request_timeout(at, self_, id_);
    armed_ = true;
    at_ = at;
  }

  /// Fires `delay` from now.
  void arm_in(caf::timespan delay) {
    arm(self_->clock().now() + delay);
  }

  /// Fires no later than `at`: re-arms only if not armed or armed later.
  void arm_no_later(time_point at) {
    if (!armed_ || at < at_)
      arm(at);
  }

  /// Stops the timer (the registered handler stays for the next arming).
  void cancel() {
    if (!armed_)
      return;
    self_->clock().cancel_request_timeout(self_, id_);
    armed_ = false;
  }

  bool armed() const noexcept {
    return armed_;
  }

  time_point at() const noexcept {
    return at_;
  }

private:
  caf::scheduled_actor* self_ = nullptr;
  std::function<void()> on_fire_;
  caf::message_id id_;
  time_point at_;
  bool armed_ = false;
  bool handler_ = false;
};

/// Runs `fn` inside `self` once, `delay` from now (a one-off timer on a
/// request timeout of its own: one clock entry that is gone once it fired;
/// nothing runs if `self` ended before). For waits that are never moved
/// or cancelled, such as a middleware's retry delay.
inline void run_after(caf::scheduled_actor* self, caf::timespan delay,
                      std::function<void()> fn) {
  auto id = self->new_request_id(caf::message_priority::normal).response_id();
  self->add_multiplexed_response_handler(
    id, caf::behavior{[fn = std::move(fn)](caf::error&) { fn(); }});
  self->clock().set_request_timeout(self->clock().now() + delay, self, id);
}

} // namespace caf_mcp
