// CAF's multiplexer run on an io thread: see multiplexer_driver in
// connect.hpp.
//
// With `middleman.manual-multiplexing` CAF 0.17 starts no thread for its
// default multiplexer; whoever calls `poll_once` runs it. Its sockets and
// its wake-up pipe live in an epoll set of its own, and an epoll descriptor
// is itself readable while its set has ready events, so a duplicate of it
// goes into the io thread's Asio loop: when it is readable, the io thread
// polls the multiplexer without blocking and waits again. Everything that
// other threads hand to the multiplexer (a broker made ready, a dispatched
// function) goes through its pipe, which is in that epoll set: no thread
// is ever the multiplexer's own (`thread_id` stays unset), so nothing waits
// in its internal queue for a poll that would not come.
//
// The driver also calls forget_lost_nodes every lost_node_sweep_interval:
// a node that publishes learns a new node id with every connection made to
// it, and CAF 0.17.6 would keep a helper actor for each (lost_nodes.cpp).
#include "caf_mcp/cluster/connect.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <utility>

// GCC 12 reports -Wnull-dereference false positives from inlined Asio
// (as in transport/src/http_detail.hpp): silenced for its headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#pragma GCC diagnostic pop

#include "caf/actor_system.hpp"
#include "caf/config.hpp"
#include "caf/io/middleman.hpp"
#include "caf/io/network/default_multiplexer.hpp"

#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/transport/http_client.hpp"
#include "caf_mcp/transport/log.hpp"

namespace caf_mcp::cluster {

namespace {

using mpx_type = caf::io::network::default_multiplexer;
using epoll_member = caf::io::network::native_socket mpx_type::*;

// CAF 0.17.6 keeps the epoll descriptor private and offers no accessor.
// An explicit instantiation may name a private member (access is not
// checked there), which hands it out through the friend below. The layout
// is that of the pinned Debian CAF; another version must be looked at
// again before this builds.
static_assert(CAF_VERSION == 1706,
              "multiplexer_driver reads default_multiplexer::epollfd_ of "
              "CAF 0.17.6");

epoll_member epoll_of();

template <epoll_member Member>
struct epoll_access {
  friend epoll_member epoll_of() {
    return Member;
  }
};

template struct epoll_access<&mpx_type::epollfd_>;

/// Polls per wake-up before waiting again (each poll takes what epoll has
/// ready; a bound keeps the io thread's other work going).
constexpr int max_polls = 8;

} // namespace

struct multiplexer_driver::impl
  : std::enable_shared_from_this<multiplexer_driver::impl> {
  impl(caf::actor_system& s, mpx_type& m, boost::asio::io_context& ctx,
       int fd, caf::timespan every, lost_nodes_callback cb)
    : sys(s),
      mpx(m),
      wait(ctx, fd),
      sweep(ctx),
      sweep_every(every),
      on_sweep(std::move(cb)) {
    // nop
  }

  void arm_sweep() {
    sweep.expires_after(sweep_every);
    sweep.async_wait(
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (self->stopped || ec)
          return;
        forget_lost_nodes(self->sys, self->on_sweep);
        self->arm_sweep();
      });
  }

  void arm() {
    wait.async_wait(boost::asio::posix::descriptor_base::wait_read,
                    [self = shared_from_this()](
                      const boost::system::error_code& ec) {
                      self->on_ready(ec);
                    });
  }

  void on_ready(const boost::system::error_code& ec) {
    if (stopped || ec)
      return;
    for (int i = 0; i < max_polls && mpx.poll_once(false); ++i) {
      // nop
    }
    arm();
  }

  caf::actor_system& sys;
  mpx_type& mpx;
  /// CAF's epoll descriptor (a duplicate) in the io thread's loop.
  boost::asio::posix::stream_descriptor wait;
  /// Fires every `sweep_every`.
  boost::asio::steady_timer sweep;
  caf::timespan sweep_every;
  lost_nodes_callback on_sweep;
  bool stopped = false;
};

caf::expected<std::unique_ptr<multiplexer_driver>>
multiplexer_driver::start(caf::actor_system& sys, transport::io_runtime& io,
                          caf::timespan sweep_every,
                          lost_nodes_callback on_sweep) {
  if (sweep_every.count() <= 0)
    return caf::make_error(mcp_errc::invalid_argument,
                           "multiplexer_driver: the sweep interval must be "
                           "positive");
  if (!sys.has_middleman())
    return caf::make_error(mcp_errc::invalid_argument,
                           "multiplexer_driver: the actor system has no "
                           "middleman (cluster::configure)");
  auto* mpx = dynamic_cast<mpx_type*>(&sys.middleman().backend());
  if (mpx == nullptr)
    return caf::make_error(mcp_errc::invalid_argument,
                           "multiplexer_driver: the middleman does not use "
                           "CAF's default multiplexer");
  auto epfd = mpx->*epoll_of();
  auto fd = epfd >= 0 ? ::fcntl(epfd, F_DUPFD_CLOEXEC, 0) : -1;
  if (fd < 0)
    return caf::make_error(mcp_errc::invalid_argument,
                           "multiplexer_driver: the multiplexer has no "
                           "epoll descriptor");
  auto ptr = std::make_shared<impl>(sys, *mpx, io.context(0), fd, sweep_every,
                                    std::move(on_sweep));
  // The first poll registers CAF's wake-up pipe (and whatever the system
  // set up so far) in its epoll set; only then can the set become ready.
  boost::asio::post(ptr->wait.get_executor(), [ptr] {
    ptr->mpx.poll_once(false);
    ptr->arm();
    ptr->arm_sweep();
  });
  return std::unique_ptr<multiplexer_driver>{new multiplexer_driver(ptr)};
}

multiplexer_driver::multiplexer_driver(std::shared_ptr<impl> ptr)
  : impl_(std::move(ptr)) {
  // nop
}

multiplexer_driver::~multiplexer_driver() {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  boost::asio::post(impl_->wait.get_executor(), [ptr = impl_, done] {
    ptr->stopped = true;
    ptr->sweep.cancel();
    boost::system::error_code ec;
    ptr->wait.cancel(ec);
    ptr->wait.close(ec);
    done->set_value();
  });
  // The io thread runs this at its next turn; it is gone only if the io
  // runtime stopped first, and then nothing polls any more either.
  if (finished.wait_for(std::chrono::seconds{10})
      != std::future_status::ready)
    CAF_MCP_LOG_WARN("cluster", "multiplexer_driver: the io thread did not "
                                "stop polling within 10 s");
}

} // namespace caf_mcp::cluster
