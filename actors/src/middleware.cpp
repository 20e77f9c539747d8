#include "caf_mcp/actors/middleware.hpp"

#include <algorithm>
#include <exception>

#include "caf_mcp/messages/error.hpp"

namespace caf_mcp {

middleware::~middleware() = default;

void middleware::on_tools_changed(std::string_view) {
  // nop
}

void middleware::configure_session(session_config&) {
  // nop
}

const tool* find_tool(const mw_context& ctx, std::string_view name) {
  if (!ctx.tools)
    return nullptr;
  auto& ts = *ctx.tools;
  auto i = std::lower_bound(ts.begin(), ts.end(), name,
                            [](const tool& t, std::string_view n) {
                              return t.name < n;
                            });
  return i != ts.end() && i->name == name ? &*i : nullptr;
}

namespace {

/// `done` that runs once; later calls (a middleware's bug) are ignored.
mw_done once(mw_done done) {
  auto fired = std::make_shared<bool>(false);
  return [fired, done = std::move(done)](mw_outcome out) {
    if (*fired)
      return;
    *fired = true;
    done(std::move(out));
  };
}

mw_outcome failed(std::string_view who, std::string what) {
  mw_outcome out;
  out.value = caf::make_error(mcp_errc::middleware_failed,
                              "middleware " + std::string{who} + ": "
                                + std::move(what));
  return out;
}

} // namespace

void run_chain(mw_context ctx,
               std::shared_ptr<const std::vector<middleware_ptr>> chain,
               size_t index, mw_request req, mw_next terminal, mw_done done) {
  if (index >= chain->size()) {
    terminal(std::move(req), std::move(done));
    return;
  }
  auto& mw = (*chain)[index];
  auto guarded = once(std::move(done));
  mw_next next = [ctx, chain, index, terminal](mw_request r, mw_done d) {
    run_chain(ctx, chain, index + 1, std::move(r), terminal, std::move(d));
  };
  try {
    mw->call(ctx, std::move(req), std::move(next), guarded);
  } catch (const std::exception& e) {
    guarded(failed(mw->name(), e.what()));
  } catch (...) {
    guarded(failed(mw->name(), "unknown exception"));
  }
}

} // namespace caf_mcp
