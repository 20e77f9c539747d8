#include "caf_mcp/actors/io.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/detail/thread_safe_actor_clock.hpp"
#include "caf/execution_unit.hpp"
#include "caf/logger.hpp"
#include "caf/resumable.hpp"
#include "caf/scheduler/abstract_coordinator.hpp"

#include "caf_mcp/transport/http_client.hpp"

namespace caf_mcp {

std::shared_ptr<transport::io_runtime>
shared_io_runtime(size_t threads, std::chrono::microseconds busy_poll) {
  static std::mutex mtx;
  static std::weak_ptr<transport::io_runtime> instance;
  std::lock_guard<std::mutex> guard{mtx};
  if (auto ptr = instance.lock())
    return ptr;
  auto ptr = std::make_shared<transport::io_runtime>(threads, busy_poll);
  instance = ptr;
  return ptr;
}

namespace {

class io_coordinator;

/// The execution unit of one io thread: what an actor running there uses
/// to make another actor ready. Its run queue is touched only by its own
/// thread; one Asio task drains it, so a chain of messages between actors
/// costs no Asio round (and no reactor poll) per hop.
class io_worker final : public caf::execution_unit {
public:
  io_worker(caf::actor_system* sys, io_coordinator* parent, size_t index)
    : caf::execution_unit(sys), parent_(parent), index_(index) {
    // nop
  }

  /// Called on this worker's own thread only.
  void exec_later(caf::resumable* job) override;

  io_coordinator* parent_;
  size_t index_;
  /// Ready jobs, FIFO from `head`.
  std::vector<caf::resumable*> ready;
  size_t head = 0;
  /// A drain task is queued on the loop.
  bool drain_queued = false;
};

/// The test seam of `detail::set_io_admit_probe`.
std::atomic<void (*)()> admit_probe{nullptr};

/// CAF's scheduler module over the io runtime's event loops. Each job (a
/// ready actor) is one task on an io thread's loop; Asio keeps tasks posted
/// from a loop's own thread in a private queue, so a chain of messages
/// between actors, and from socket callbacks to actors, stays on one thread
/// without a wake-up. Tasks posted from other threads go to the loops in
/// turn. Timers run on CAF's thread-safe clock, with its own thread.
class io_coordinator final : public caf::scheduler::abstract_coordinator {
public:
  using super = caf::scheduler::abstract_coordinator;

  io_coordinator(caf::actor_system& sys,
                 std::shared_ptr<transport::io_runtime> io)
    : super(sys), io_(std::move(io)) {
    // nop
  }

  void init(caf::actor_system_config& cfg) override {
    super::init(cfg);
    num_workers_ = io_->threads();
    // CAF's default lets an actor run until its mailbox is empty; here that
    // would keep the sockets of its thread waiting. Yield after a batch.
    if (max_throughput_ == std::numeric_limits<size_t>::max())
      max_throughput_ = default_max_throughput;
  }

  void start() override {
    workers_.reserve(io_->threads());
    for (size_t i = 0; i < io_->threads(); ++i)
      workers_.emplace_back(std::make_unique<io_worker>(&system(), this, i));
    timer_ = std::thread{[this] {
      system().thread_started();
      clock_.run_dispatch_loop();
      system().thread_terminates();
    }};
    super::start();
  }

  void stop() override {
    stop_actors();
    clock_.cancel_dispatch_loop();
    if (timer_.joinable())
      timer_.join();
    // From now on a job made ready is released at once; wait until no task
    // of ours is left on the loops (none may run after we are gone). From an
    // io thread itself we cannot wait (the tasks would wait for us).
    stopping_.store(true);
    if (io_->this_thread_index() != transport::io_runtime::npos
        || io_->stopped())
      return; // Misuse (see use_io_scheduler): waiting would never end.
    std::unique_lock<std::mutex> guard{mtx_};
    while (queued_.load() > 0)
      cv_.wait_for(guard, std::chrono::milliseconds{10});
    // CAF code that ran on an io thread may have pointed the thread's
    // current logger at this system (a reference the actor system waits
    // for in its destructor): let go of it on every io thread.
    released_ = 0;
    guard.unlock();
    for (size_t i = 0; i < io_->threads(); ++i)
      io_->post(i, &release_logger, this, nullptr);
    guard.lock();
    while (released_ < io_->threads())
      cv_.wait_for(guard, std::chrono::milliseconds{10});
  }

  void enqueue(caf::resumable* job) override {
    auto i = io_->this_thread_index();
    if (i != transport::io_runtime::npos && !workers_.empty()) {
      // An io callback (or CAF code) on one of our threads: stay there.
      workers_[i]->exec_later(job);
      return;
    }
    i = next_worker_.fetch_add(1, std::memory_order_relaxed);
    post_job(i, job);
  }

  caf::actor_clock& clock() noexcept override {
    return clock_;
  }

  /// Counts a job as queued unless the scheduler is stopping (then the job
  /// is released at once). Count first, then check: `stop()` sets
  /// `stopping_` and then waits for `queued_` to reach zero, so with both
  /// sequentially consistent either `stop()` sees this job counted (and
  /// waits for it) or this thread sees `stopping_` (and undoes the count).
  /// Checking first let a job slip in between and run against a destroyed
  /// coordinator.
  bool admit(caf::resumable* job) {
    queued_.fetch_add(1);
    if (auto probe = admit_probe.load(std::memory_order_relaxed))
      probe();
    if (stopping_.load()) {
      // Released before it stops counting: `stop()` may go on (and the
      // system with it) once the count is back at zero.
      cleanup_and_release(job);
      done_jobs(1);
      return false;
    }
    return true;
  }

  /// Queues `job` on io thread `i` (from any thread).
  void post_job(size_t i, caf::resumable* job) {
    if (!admit(job))
      return;
    io_->post(i, &run_task, this, job);
  }

  /// Queues `job` on `w`'s run queue (on `w`'s thread).
  void push_local(io_worker* w, caf::resumable* job) {
    if (!admit(job))
      return;
    w->ready.push_back(job);
    if (!w->drain_queued) {
      w->drain_queued = true;
      io_->post(w->index_, &drain_task, this, w);
    }
  }

private:
  /// Messages an actor handles per turn unless scheduler.max-throughput
  /// says otherwise.
  static constexpr size_t default_max_throughput = 256;

  /// Jobs one drain task runs before it lets the loop poll its sockets.
  static constexpr size_t drain_budget = 256;

  static void run_task(void* owner, void* arg, bool run) noexcept {
    auto self = static_cast<io_coordinator*>(owner);
    auto job = static_cast<caf::resumable*>(arg);
    if (run)
      self->resume(job);
    else
      cleanup_and_release(job);
    self->done_jobs(1);
  }

  static void drain_task(void* owner, void* arg, bool run) noexcept {
    auto self = static_cast<io_coordinator*>(owner);
    auto w = static_cast<io_worker*>(arg);
    size_t n = 0;
    if (!run) {
      // The runtime stopped before it ran us: release what is left.
      for (size_t i = w->head; i < w->ready.size(); ++i, ++n)
        cleanup_and_release(w->ready[i]);
      w->ready.clear();
      w->head = 0;
      w->drain_queued = false;
      self->done_jobs(n);
      return;
    }
    while (w->head < w->ready.size() && n < drain_budget) {
      auto job = w->ready[w->head++];
      self->resume(job); // may push more jobs
      ++n;
    }
    if (w->head == w->ready.size()) {
      w->ready.clear();
      w->head = 0;
      w->drain_queued = false;
    } else {
      // Out of budget: let the loop poll its sockets, then go on.
      w->ready.erase(w->ready.begin(),
                     w->ready.begin() + static_cast<std::ptrdiff_t>(w->head));
      w->head = 0;
      self->io_->post(w->index_, &drain_task, self, w);
    }
    self->done_jobs(n);
  }

  void done_jobs(size_t n) {
    if (n > 0 && queued_.fetch_sub(n) == n && stopping_.load()) {
      std::lock_guard<std::mutex> guard{mtx_};
      cv_.notify_all();
    }
  }

  static void release_logger(void* owner, void*, bool run) noexcept {
    auto self = static_cast<io_coordinator*>(owner);
    if (run)
      caf::logger::set_current_actor_system(nullptr);
    std::lock_guard<std::mutex> guard{self->mtx_};
    ++self->released_;
    self->cv_.notify_all();
  }

  void resume(caf::resumable* job) {
    auto i = io_->this_thread_index();
    auto* unit = workers_[i].get();
    switch (job->resume(unit, max_throughput_)) {
      case caf::resumable::resume_later:
        // It yielded after max_throughput messages: back of this queue.
        push_local(unit, job);
        break;
      case caf::resumable::done:
      case caf::resumable::awaiting_message:
      case caf::resumable::shutdown_execution_unit:
        intrusive_ptr_release(job);
        break;
    }
  }

  std::shared_ptr<transport::io_runtime> io_;
  std::vector<std::unique_ptr<io_worker>> workers_;
  caf::detail::thread_safe_actor_clock clock_;
  std::thread timer_;
  /// Jobs of ours queued on the loops or in run queues, not yet run or
  /// dropped.
  std::atomic<size_t> queued_{0};
  std::atomic<bool> stopping_{false};
  /// io threads that let go of the logger while stopping (guarded by mtx_).
  size_t released_ = 0;
  std::mutex mtx_;
  std::condition_variable cv_;
};

void io_worker::exec_later(caf::resumable* job) {
  parent_->push_local(this, job);
}

} // namespace

namespace detail {

void set_io_admit_probe(void (*probe)()) noexcept {
  admit_probe.store(probe);
}

} // namespace detail

void use_io_scheduler(caf::actor_system_config& cfg,
                      std::shared_ptr<transport::io_runtime> io) {
  cfg.module_factories.push_back(
    [io](caf::actor_system& sys) -> caf::actor_system::module* {
      return new io_coordinator(sys, io);
    });
}

} // namespace caf_mcp
