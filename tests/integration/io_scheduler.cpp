// The io scheduler (use_io_scheduler): CAF actors on the io runtime's
// threads. Real threads, no sockets; every wait is bounded.
#define CAF_SUITE io_scheduler
#include "caf/test/unit_test.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"

#include "caf_mcp/actors/io.hpp"
#include "caf_mcp/messages/protocol.hpp"
#include "caf_mcp/transport/http_client.hpp"

using namespace caf_mcp;
using namespace std::chrono_literals;

namespace {

using io_runtime = transport::io_runtime;
constexpr size_t npos = io_runtime::npos;

/// Longest wait for anything in this suite.
constexpr auto limit = std::chrono::seconds{10};

struct io_config : caf::actor_system_config {
  explicit io_config(std::shared_ptr<io_runtime> io) {
    register_types(*this);
    use_io_scheduler(*this, std::move(io));
  }
};

/// Thread indices the actors of a test saw, in order.
struct seen {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<size_t> indices;

  void add(size_t i) {
    std::lock_guard<std::mutex> guard{mtx};
    indices.push_back(i);
    cv.notify_all();
  }

  /// Waits (bounded) for `n` entries; returns a copy.
  std::vector<size_t> wait_for(size_t n) {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait_for(guard, limit, [&] { return indices.size() >= n; });
    return indices;
  }
};

/// Answers (get_atom) with the index of the io thread it runs on.
caf::behavior where_am_i(caf::event_based_actor*,
                         std::shared_ptr<io_runtime> io) {
  return {
    [io](caf::get_atom) { return static_cast<uint64_t>(io->this_thread_index()); },
  };
}

/// Records its thread and passes (ok_atom) on to `next`; answers get_atom
/// (so a test knows it has started and is idle).
caf::behavior relay(caf::event_based_actor* self, std::shared_ptr<io_runtime> io,
                    std::shared_ptr<seen> log, caf::actor next) {
  return {
    [=](caf::ok_atom) {
      log->add(io->this_thread_index());
      if (next)
        self->send(next, caf::ok_atom::value);
    },
    [](caf::get_atom) { return uint64_t{0}; },
  };
}

/// Records the thread its initialization ran on.
caf::behavior recorder(caf::event_based_actor*, std::shared_ptr<io_runtime> io,
                       std::shared_ptr<seen> log) {
  log->add(io->this_thread_index());
  return {
    [](caf::get_atom) { return uint64_t{0}; },
  };
}

/// Sends itself a message for every message it gets: never idle.
caf::behavior spinner(caf::event_based_actor* self,
                      std::shared_ptr<std::atomic<uint64_t>> count) {
  self->send(self, tick_atom::value, uint64_t{0});
  return {
    [=](tick_atom, uint64_t n) {
      count->store(n);
      self->send(self, tick_atom::value, n + 1);
    },
  };
}

/// Counts the messages it gets.
caf::behavior counter(caf::event_based_actor*,
                      std::shared_ptr<std::atomic<uint64_t>> got) {
  return {
    [got](caf::ok_atom) { got->fetch_add(1); },
  };
}

uint64_t ask_index(caf::scoped_actor& self, const caf::actor& dest) {
  uint64_t out = npos;
  self->request(dest, limit, caf::get_atom::value)
    .receive([&](uint64_t i) { out = i; },
             [&](caf::error& err) { CAF_FAIL("no answer: " << to_string(err)); });
  return out;
}

/// Posts a task on io thread `index` and waits until it ran.
bool runs_task(io_runtime& io, size_t index) {
  struct flag {
    std::mutex mtx;
    std::condition_variable cv;
    bool ran = false;
  } f;
  io.post(
    index,
    [](void* owner, void*, bool run) noexcept {
      auto ptr = static_cast<flag*>(owner);
      std::lock_guard<std::mutex> guard{ptr->mtx};
      ptr->ran = run;
      ptr->cv.notify_all();
    },
    &f, nullptr);
  std::unique_lock<std::mutex> guard{f.mtx};
  return f.cv.wait_for(guard, limit, [&] { return f.ran; });
}

/// Keeps one io thread busy (blocked in a task) until released, so nothing
/// queued there can run meanwhile; everything queued there before it ran.
class thread_blocker {
public:
  thread_blocker(io_runtime& io, size_t index) {
    io.post(
      index,
      [](void* owner, void*, bool) noexcept {
        auto self = static_cast<thread_blocker*>(owner);
        std::unique_lock<std::mutex> guard{self->mtx_};
        self->started_ = true;
        self->cv_.notify_all();
        self->cv_.wait_for(guard, limit, [self] { return self->released_; });
        self->finished_ = true;
        self->cv_.notify_all();
      },
      this, nullptr);
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, limit, [this] { return started_; });
  }

  ~thread_blocker() {
    std::unique_lock<std::mutex> guard{mtx_};
    released_ = true;
    cv_.notify_all();
    cv_.wait_for(guard, limit, [this] { return finished_ || !started_; });
  }

  bool started() {
    std::lock_guard<std::mutex> guard{mtx_};
    return started_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool started_ = false;
  bool released_ = false;
  bool finished_ = false;
};

/// Sends (ok_atom) to `dest` from a task on io thread `index`.
void send_from_io_thread(io_runtime& io, size_t index, caf::actor* dest) {
  io.post(
    index,
    [](void* owner, void*, bool run) noexcept {
      if (run)
        caf::anon_send(*static_cast<caf::actor*>(owner), caf::ok_atom::value);
    },
    dest, nullptr);
}

} // namespace

CAF_TEST(actors run on the io threads) {
  auto io = std::make_shared<io_runtime>(2);
  io_config cfg{io};
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  CAF_CHECK_EQUAL(sys.scheduler().num_workers(), 2u);
  // Off the io threads there is no index.
  CAF_CHECK_EQUAL(io->this_thread_index(), npos);
  auto a = sys.spawn(where_am_i, io);
  CAF_CHECK(ask_index(self, a) < 2u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  // Actors started from outside go to the threads in turn.
  auto log = std::make_shared<seen>();
  std::vector<caf::actor> xs;
  for (int i = 0; i < 4; ++i)
    xs.push_back(sys.spawn(recorder, io, log));
  auto got = log->wait_for(4);
  CAF_REQUIRE_EQUAL(got.size(), 4u);
  CAF_CHECK_EQUAL(std::count(got.begin(), got.end(), size_t{0}), 2);
  CAF_CHECK_EQUAL(std::count(got.begin(), got.end(), size_t{1}), 2);
  for (auto& x : xs)
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
}

CAF_TEST(a chain of messages stays on the thread that started it) {
  // Thread 0 is blocked the whole time: a hop queued there would stall the
  // chain, so a complete log proves every hop ran on thread 1.
  auto io = std::make_shared<io_runtime>(2);
  io_config cfg{io};
  caf::actor_system sys{cfg};
  auto log = std::make_shared<seen>();
  constexpr size_t n = 50;
  caf::actor next;
  std::vector<caf::actor> chain;
  caf::scoped_actor self{sys};
  for (size_t i = 0; i < n; ++i) {
    next = sys.spawn(relay, io, log, next);
    chain.push_back(next);
    ask_index(self, next); // started
  }
  {
    thread_blocker block{*io, 0};
    CAF_REQUIRE(block.started());
    send_from_io_thread(*io, 1, &next);
    auto indices = log->wait_for(n);
    CAF_REQUIRE_EQUAL(indices.size(), n);
    for (auto i : indices)
      CAF_CHECK_EQUAL(i, 1u);
  }
  for (auto& a : chain)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

CAF_TEST(a message from an io callback runs the actor on that thread) {
  auto io = std::make_shared<io_runtime>(2);
  io_config cfg{io};
  caf::actor_system sys{cfg};
  auto log = std::make_shared<seen>();
  auto a = sys.spawn(relay, io, log, caf::actor{});
  caf::scoped_actor self{sys};
  ask_index(self, a); // started
  // With the other thread blocked, the actor can only run where the message
  // came from (else it stalls and the log stays short).
  size_t expected = 0;
  for (size_t from : {size_t{1}, size_t{0}, size_t{1}}) {
    thread_blocker block{*io, 1 - from};
    CAF_REQUIRE(block.started());
    send_from_io_thread(*io, from, &a);
    auto indices = log->wait_for(++expected);
    CAF_REQUIRE_EQUAL(indices.size(), expected);
    CAF_CHECK_EQUAL(indices.back(), from);
  }
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

CAF_TEST(delayed messages arrive) {
  auto io = std::make_shared<io_runtime>(1);
  io_config cfg{io};
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto started = std::chrono::steady_clock::now();
  auto a = sys.spawn([](caf::event_based_actor* me) -> caf::behavior {
    return {
      [me](caf::get_atom) {
        auto rp = me->make_response_promise<caf::ok_atom>();
        me->delayed_send(me, 30ms, caf::ok_atom::value);
        me->become(caf::keep_behavior, [me, rp](caf::ok_atom) mutable {
          rp.deliver(caf::ok_atom::value);
          me->unbecome();
        });
        return rp;
      },
    };
  });
  bool ok = false;
  self->request(a, limit, caf::get_atom::value)
    .receive([&](caf::ok_atom) { ok = true; },
             [&](caf::error& err) { CAF_FAIL(to_string(err)); });
  CAF_CHECK(ok);
  CAF_CHECK(std::chrono::steady_clock::now() - started >= 30ms);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

CAF_TEST(a busy actor lets the others on its thread run) {
  // One thread: the spinner never runs out of messages, yet the other
  // actor answers and the loop still runs posted tasks.
  auto io = std::make_shared<io_runtime>(1);
  io_config cfg{io};
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto count = std::make_shared<std::atomic<uint64_t>>(0);
  auto spin = sys.spawn(spinner, count);
  auto a = sys.spawn(where_am_i, io);
  CAF_CHECK_EQUAL(ask_index(self, a), 0u);
  CAF_CHECK(runs_task(*io, 0));
  CAF_CHECK(count->load() > 0u);
  caf::anon_send_exit(spin, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

CAF_TEST(the system shuts down under load and the runtime lives on) {
  auto io = std::make_shared<io_runtime>(2);
  auto count = std::make_shared<std::atomic<uint64_t>>(0);
  {
    io_config cfg{io};
    caf::actor_system sys{cfg};
    std::vector<caf::actor> spinners;
    for (int i = 0; i < 4; ++i)
      spinners.push_back(sys.spawn(spinner, count));
    // Wait (bounded) until they run, then let the system go with them busy.
    auto until = std::chrono::steady_clock::now() + limit;
    while (count->load() < 1000 && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
    CAF_CHECK(count->load() >= 1000u);
    // Spinners never quit by themselves: the system's destructor waits for
    // every actor. They go with messages still queued and jobs on the loops.
    for (auto& s : spinners)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  }
  // Everything of the system is gone; the loops still work.
  auto before = count->load();
  CAF_CHECK(runs_task(*io, 0));
  CAF_CHECK(runs_task(*io, 1));
  CAF_CHECK_EQUAL(count->load(), before);
  // A second system on the same runtime.
  io_config cfg{io};
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto a = sys.spawn(where_am_i, io);
  CAF_CHECK(ask_index(self, a) < 2u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

// `post_job`/`push_local` count a job before they check `stopping_`; checked
// first, a job could pass the check, `stop()` could see no job queued and
// return, and the job would then run after the scheduler stopped. Here
// threads outside the loops hammer actors with messages (each wake-up is a
// `post_job`) for 150 ms while the system shuts down: the posters are
// detached actors, so the system's destructor stops the scheduler while
// they still post and waits for their threads only after that. Every job
// must be run or released, none may run once the system is gone, and the
// shutdown must end (no count left behind). A stress test: with the old
// order (check, then count) it did not fail in 8 runs without a sanitizer,
// since the coordinator outlives stop() until the posters end; the next
// test makes the race certain with a seam (it crashes with the old order).
CAF_TEST(jobs posted from many threads while the scheduler stops never run late) {
  auto io = std::make_shared<io_runtime>(2);
  constexpr int posters = 3;
  constexpr uint64_t max_sends = 20000000; // per poster and round
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds{8};
  int rounds = 0;
  uint64_t total_sent = 0;
  for (; rounds < 25 && std::chrono::steady_clock::now() < until; ++rounds) {
    auto got = std::make_shared<std::atomic<uint64_t>>(0);
    auto sent = std::make_shared<std::atomic<uint64_t>>(0);
    auto started = std::make_shared<std::atomic<int>>(0);
    {
      io_config cfg{io};
      caf::actor_system sys{cfg};
      std::vector<caf::actor> targets;
      for (int i = 0; i < 4; ++i)
        targets.push_back(sys.spawn<caf::hidden>(counter, got));
      for (int t = 0; t < posters; ++t)
        sys.spawn<caf::detached + caf::hidden>(
          [targets, sent, started](caf::blocking_actor*) {
            started->fetch_add(1);
            // Bounded by count and time; long enough to span the stop.
            auto end = std::chrono::steady_clock::now()
                       + std::chrono::milliseconds{150};
            for (uint64_t i = 0;
                 i < max_sends && std::chrono::steady_clock::now() < end;
                 ++i) {
              caf::anon_send(targets[i % targets.size()],
                             caf::ok_atom::value);
              sent->fetch_add(1);
            }
          });
      // Wait (bounded) until every poster posts and jobs run.
      auto wait_end = std::chrono::steady_clock::now() + limit;
      while ((started->load() < posters || got->load() == 0)
             && std::chrono::steady_clock::now() < wait_end)
        std::this_thread::yield();
      CAF_REQUIRE_EQUAL(started->load(), posters);
      CAF_REQUIRE(got->load() > 0u);
      // The system goes now, with the posters still posting.
    }
    total_sent += sent->load();
    // Every task a loop had was queued before these: once they ran, no job
    // of the dead system is left, and none ran after it was gone.
    auto after = got->load();
    CAF_CHECK(runs_task(*io, 0));
    CAF_CHECK(runs_task(*io, 1));
    CAF_CHECK_EQUAL(got->load(), after);
    CAF_CHECK(after <= sent->load());
  }
  CAF_MESSAGE(rounds << " rounds, " << total_sent << " messages posted");
  CAF_CHECK(rounds >= 1);
}

namespace {

/// The race test's probe: holds the admission of one post (made by the
/// thread marked `is_poster`) until the system is gone, at most 300 ms.
struct admit_hold {
  std::mutex mtx;
  std::condition_variable cv;
  bool entered = false;
  bool system_gone = false;
};

admit_hold* hold = nullptr;
thread_local bool is_poster = false;

void hold_admission() {
  if (!is_poster || hold == nullptr)
    return;
  is_poster = false; // once
  std::unique_lock<std::mutex> guard{hold->mtx};
  hold->entered = true;
  hold->cv.notify_all();
  // Counted first (as it must be), `stop()` waits for this job and the
  // system cannot go: the bound ends the wait. Checked first, `stop()`
  // returns meanwhile and the system goes: the test says so at once.
  hold->cv.wait_for(guard, std::chrono::milliseconds{300},
                    [] { return hold->system_gone; });
}

} // namespace

// The same race, made certain: one post from a thread outside the loops
// is held between the two steps of its admission while the system shuts
// down. Counted before the check, `stop()` waits for it and then releases
// it: it never runs. Checked before the count (the old order), `stop()`
// returns, the system goes, and the job runs afterwards against the dead
// coordinator: the counter moves (or the process crashes).
CAF_TEST(a job admitted while the scheduler stops is waited for and never runs) {
  auto io = std::make_shared<io_runtime>(2);
  auto got = std::make_shared<std::atomic<uint64_t>>(0);
  admit_hold h;
  hold = &h;
  std::thread poster;
  {
    io_config cfg{io};
    caf::actor_system sys{cfg};
    auto target = sys.spawn<caf::hidden>(counter, got);
    // One message first, so the target is idle when the poster sends.
    caf::anon_send(target, caf::ok_atom::value);
    auto until = std::chrono::steady_clock::now() + limit;
    while (got->load() < 1 && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
    CAF_REQUIRE_EQUAL(got->load(), 1u);
    CAF_REQUIRE(runs_task(*io, 0));
    CAF_REQUIRE(runs_task(*io, 1));
    detail::set_io_admit_probe(&hold_admission);
    poster = std::thread{[target] {
      is_poster = true;
      caf::anon_send(target, caf::ok_atom::value);
    }};
    {
      std::unique_lock<std::mutex> guard{h.mtx};
      CAF_REQUIRE(h.cv.wait_for(guard, limit, [&] { return h.entered; }));
    }
    // The system goes now, with the post held inside its admission.
  }
  {
    std::lock_guard<std::mutex> guard{h.mtx};
    h.system_gone = true;
    h.cv.notify_all();
  }
  poster.join();
  detail::set_io_admit_probe(nullptr);
  hold = nullptr;
  // Whatever the loops had queued runs before these.
  CAF_CHECK(runs_task(*io, 0));
  CAF_CHECK(runs_task(*io, 1));
  CAF_CHECK_EQUAL(got->load(), 1u);
}
