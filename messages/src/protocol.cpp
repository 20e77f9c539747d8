#include "caf_mcp/messages/protocol.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "caf/actor_system_config.hpp"

namespace caf_mcp {

const char* to_string(link_phase x) noexcept {
  switch (x) {
    case link_phase::connecting:
      return "connecting";
    case link_phase::ready:
      return "ready";
    case link_phase::backing_off:
      return "backing_off";
    case link_phase::gave_up:
      return "gave_up";
    case link_phase::closed:
      return "closed";
  }
  return "unknown";
}

const char* to_string(health_state x) noexcept {
  switch (x) {
    case health_state::healthy:
      return "healthy";
    case health_state::degraded:
      return "degraded";
    case health_state::down:
      return "down";
  }
  return "unknown";
}

bool operator==(const link_status& x, const link_status& y) {
  return x.server == y.server && x.member == y.member && x.phase == y.phase
         && x.sessions_started == y.sessions_started
         && x.reconnects == y.reconnects && x.attempts == y.attempts
         && x.queued == y.queued && x.in_flight == y.in_flight
         && x.calls_ok == y.calls_ok && x.calls_failed == y.calls_failed
         && x.calls_resent == y.calls_resent
         && x.ready_since_ms == y.ready_since_ms
         && x.next_attempt_in == y.next_attempt_in
         && x.longest_recovery == y.longest_recovery
         && x.last_connect == y.last_connect
         && x.longest_connect == y.longest_connect
         && x.last_error == y.last_error;
}

bool operator==(const health_snapshot& x, const health_snapshot& y) {
  return x.server == y.server && x.state == y.state && x.phase == y.phase
         && x.connected_since_ms == y.connected_since_ms
         && x.last_activity_ms == y.last_activity_ms
         && x.reconnects == y.reconnects && x.messages == y.messages
         && x.errors == y.errors && x.pings_sent == y.pings_sent
         && x.pings_failed == y.pings_failed
         && x.consecutive_failures == y.consecutive_failures
         && x.rtt_last == y.rtt_last && x.rtt_smoothed == y.rtt_smoothed
         && x.last_error == y.last_error;
}

bool operator==(const pool_stats& x, const pool_stats& y) {
  return x.server == y.server && x.members == y.members && x.ready == y.ready
         && x.replaced == y.replaced && x.in_flight == y.in_flight
         && x.calls_ok == y.calls_ok && x.calls_failed == y.calls_failed
         && x.links == y.links;
}

tools_diff diff_tools(const std::vector<tool>& before,
                      const std::vector<tool>& after) {
  std::map<std::string_view, const tool*> old_by_name;
  for (auto& t : before)
    old_by_name.emplace(t.name, &t);
  tools_diff out;
  std::map<std::string_view, bool> seen;
  for (auto& t : after) {
    if (!seen.emplace(t.name, true).second)
      continue; // A duplicate name: the first one counts.
    auto i = old_by_name.find(t.name);
    if (i == old_by_name.end())
      out.added.push_back(t);
    else if (!(*i->second == t))
      out.changed.push_back(t);
  }
  std::map<std::string_view, bool> removed_seen;
  for (auto& t : before)
    if (seen.count(t.name) == 0 && removed_seen.emplace(t.name, true).second)
      out.removed.push_back(t);
  return out;
}

std::vector<tool> apply_diff(const std::vector<tool>& tools,
                             const tools_diff& d) {
  std::map<std::string, tool> by_name;
  for (auto& t : tools)
    by_name.emplace(t.name, t);
  for (auto& t : d.removed)
    by_name.erase(t.name);
  for (auto& t : d.added)
    by_name[t.name] = t;
  for (auto& t : d.changed)
    by_name[t.name] = t;
  std::vector<tool> out;
  out.reserve(by_name.size());
  for (auto& kvp : by_name)
    out.push_back(std::move(kvp.second));
  return out;
}

namespace {

void hash_combine(size_t& seed, size_t x) noexcept {
  seed ^= x + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
}

size_t hash_of(const std::vector<tool>& tools) noexcept {
  std::hash<std::string_view> h;
  size_t seed = tools.size();
  auto opt = [&](const caf::optional<std::string>& x) {
    hash_combine(seed, x ? h(*x) + 1 : 0);
  };
  for (auto& t : tools) {
    hash_combine(seed, h(t.name));
    opt(t.title);
    opt(t.description);
    hash_combine(seed, h(t.input_schema));
    hash_combine(seed, h(t.output_schema));
    hash_combine(seed, h(t.annotations));
    hash_combine(seed, h(t.meta));
  }
  return seed;
}

/// The lists somebody holds, by hash (weakly: a list goes with its last
/// holder; expired entries are pruned as the table grows).
struct tool_list_table {
  std::mutex mtx;
  std::unordered_multimap<size_t, std::weak_ptr<const std::vector<tool>>>
    lists;
  size_t prune_at = 64;
};

tool_list_table& tool_lists() {
  static tool_list_table table;
  return table;
}

} // namespace

namespace {

template <class Vector>
tool_list_ptr intern_tools_impl(Vector&& tools) {
  auto key = hash_of(tools);
  auto& table = tool_lists();
  std::lock_guard<std::mutex> guard{table.mtx};
  auto range = table.lists.equal_range(key);
  for (auto i = range.first; i != range.second; ++i)
    if (auto ptr = i->second.lock(); ptr && *ptr == tools)
      return ptr;
  if (table.lists.size() >= table.prune_at) {
    for (auto i = table.lists.begin(); i != table.lists.end();)
      i = i->second.expired() ? table.lists.erase(i) : std::next(i);
    table.prune_at = std::max<size_t>(64, table.lists.size() * 2);
  }
  auto ptr = std::make_shared<const std::vector<tool>>(
    std::forward<Vector>(tools));
  table.lists.emplace(key, ptr);
  return ptr;
}

} // namespace

tool_list_ptr intern_tools(const std::vector<tool>& tools) {
  return intern_tools_impl(tools);
}

tool_list_ptr intern_tools(std::vector<tool>&& tools) {
  return intern_tools_impl(std::move(tools));
}

void sort_tools(std::vector<tool>& tools) {
  std::stable_sort(tools.begin(), tools.end(),
                   [](const tool& x, const tool& y) { return x.name < y.name; });
}

void register_types(caf::actor_system_config& cfg) {
  add_error_category(cfg);
  cfg.add_message_type<request_id>("caf_mcp::request_id");
  cfg.add_message_type<implementation>("caf_mcp::implementation");
  cfg.add_message_type<client_capabilities>("caf_mcp::client_capabilities");
  cfg.add_message_type<server_capabilities>("caf_mcp::server_capabilities");
  cfg.add_message_type<initialize_result>("caf_mcp::initialize_result");
  cfg.add_message_type<tool>("caf_mcp::tool");
  cfg.add_message_type<std::vector<tool>>("std::vector<caf_mcp::tool>");
  cfg.add_message_type<content_block>("caf_mcp::content_block");
  cfg.add_message_type<call_tool_result>("caf_mcp::call_tool_result");
  cfg.add_message_type<progress_params>("caf_mcp::progress_params");
  cfg.add_message_type<logging_message_params>(
    "caf_mcp::logging_message_params");
  cfg.add_message_type<call_options>("caf_mcp::call_options");
  cfg.add_message_type<tool_proxy_actor>("caf_mcp::tool_proxy_actor");
  cfg.add_message_type<tool_handle>("caf_mcp::tool_handle");
  cfg.add_message_type<std::vector<tool_handle>>(
    "std::vector<caf_mcp::tool_handle>");
  cfg.add_message_type<session_actor>("caf_mcp::session_actor");
  cfg.add_message_type<session_stats>("caf_mcp::session_stats");
  cfg.add_message_type<client_actor>("caf_mcp::client_actor");
  // Supervision.
  cfg.add_message_type<link_phase>("caf_mcp::link_phase");
  cfg.add_message_type<link_status>("caf_mcp::link_status");
  cfg.add_message_type<std::vector<link_status>>(
    "std::vector<caf_mcp::link_status>");
  cfg.add_message_type<tools_diff>("caf_mcp::tools_diff");
  cfg.add_message_type<health_state>("caf_mcp::health_state");
  cfg.add_message_type<health_snapshot>("caf_mcp::health_snapshot");
  cfg.add_message_type<std::vector<health_snapshot>>(
    "std::vector<caf_mcp::health_snapshot>");
  cfg.add_message_type<pool_stats>("caf_mcp::pool_stats");
  cfg.add_message_type<supervisor_actor>("caf_mcp::supervisor_actor");
  cfg.add_message_type<std::vector<supervisor_actor>>(
    "std::vector<caf_mcp::supervisor_actor>");
  cfg.add_message_type<pool_actor>("caf_mcp::pool_actor");
  cfg.add_message_type<health_monitor_actor>("caf_mcp::health_monitor_actor");
  // The node.
  cfg.add_message_type<server_info>("caf_mcp::server_info");
  cfg.add_message_type<std::vector<server_info>>(
    "std::vector<caf_mcp::server_info>");
  cfg.add_message_type<server_detail>("caf_mcp::server_detail");
  cfg.add_message_type<node_event>("caf_mcp::node_event");
  cfg.add_message_type<registry_actor>("caf_mcp::registry_actor");
  cfg.add_message_type<node_info>("caf_mcp::node_info");
  cfg.add_message_type<remote_call>("caf_mcp::remote_call");
  cfg.add_message_type<std::vector<remote_call>>(
    "std::vector<caf_mcp::remote_call>");
  cfg.add_message_type<remote_result>("caf_mcp::remote_result");
  cfg.add_message_type<std::vector<remote_result>>(
    "std::vector<caf_mcp::remote_result>");
  cfg.add_message_type<cluster_front_actor>("caf_mcp::cluster_front_actor");
  cfg.add_message_type<std::vector<node_info>>(
    "std::vector<caf_mcp::node_info>");
}

bool operator==(const server_info& x, const server_info& y) {
  return x.name == y.name && x.url == y.url && x.transport == y.transport
         && x.description == y.description && x.state == y.state
         && x.phase == y.phase && x.connected_since_ms == y.connected_since_ms
         && x.reconnects == y.reconnects && x.last_error == y.last_error
         && x.rtt_ms == y.rtt_ms && x.in_flight == y.in_flight
         && x.calls_ok == y.calls_ok && x.calls_failed == y.calls_failed
         && x.calls_is_error == y.calls_is_error
         && x.tool_count == y.tool_count && x.node == y.node
         && x.disabled == y.disabled;
}

} // namespace caf_mcp
