#include "caf_mcp/messages/result_cache.hpp"

#include <iterator>
#include <utility>

#include "caf_mcp/messages/jsonrpc.hpp"

namespace caf_mcp {

const char* to_string(flight_role x) noexcept {
  switch (x) {
    case flight_role::leader:
      return "leader";
    case flight_role::joined:
      return "joined";
    case flight_role::uncached:
      return "uncached";
  }
  return "???";
}

result_cache::result_cache(result_cache_config cfg)
  : cfg_(std::move(cfg)), other_ttl_(cfg_.tools ? duration::zero() : cfg_.ttl) {
  if (cfg_.tools)
    for (auto& name : *cfg_.tools)
      ttl_by_tool_.insert_or_assign(name, cfg_.ttl);
  for (auto& [name, ttl] : cfg_.tool_ttl)
    ttl_by_tool_.insert_or_assign(name, ttl);
}

result_cache::duration result_cache::ttl(std::string_view tool) const {
  auto i = ttl_by_tool_.find(tool);
  auto result = i != ttl_by_tool_.end() ? i->second : other_ttl_;
  return result > duration::zero() ? result : duration::zero();
}

// -- entries ------------------------------------------------------------------

result_cache::result_ptr result_cache::lookup(std::string_view server,
                                              std::string_view tool,
                                              std::string_view args,
                                              time_point now) {
  if (!caches(tool))
    return nullptr;
  auto& st = state_of(server);
  make_key(tool, args);
  auto i = st.index.find(key_);
  if (i == st.index.end()) {
    ++st.misses;
    return nullptr;
  }
  auto pos = i->second;
  if (now >= pos->expires) {
    erase(pos);
    ++st.misses;
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, pos);
  ++st.hits;
  return pos->result;
}

bool result_cache::store(std::string_view server, std::string_view tool,
                         std::string_view args, result_ptr result,
                         bool streamed_progress, time_point now) {
  if (!result || result->is_error || streamed_progress
      || cfg_.max_entries == 0)
    return false;
  auto ttl = this->ttl(tool);
  if (ttl <= duration::zero())
    return false;
  sizing_.clear();
  append_json(sizing_, *result);
  auto size = server.size() + tool.size() + args.size() + sizing_.size();
  if (sizing_.capacity() > 64 * 1024)
    std::string{}.swap(sizing_); // do not keep a large result's buffer
  if (size > cfg_.max_bytes)
    return false;
  // Saturate instead of overflowing for huge TTLs.
  auto expires = ttl < time_point::max() - now ? now + ttl : time_point::max();
  auto& st = state_of(server);
  make_key(tool, args);
  auto i = st.index.find(key_);
  if (i != st.index.end()) {
    auto pos = i->second;
    st.bytes -= pos->bytes;
    bytes_ -= pos->bytes;
    pos->result = std::move(result);
    pos->expires = expires;
    pos->bytes = size;
    lru_.splice(lru_.begin(), lru_, pos);
  } else {
    lru_.push_front(entry{key_, std::move(result), expires, size, &st});
    st.index.emplace(std::string_view{lru_.front().key}, lru_.begin());
  }
  st.bytes += size;
  bytes_ += size;
  // The new entry is at the front and fits alone: evicting from the back
  // stops before it.
  while (lru_.size() > cfg_.max_entries || bytes_ > cfg_.max_bytes)
    erase(std::prev(lru_.end()));
  return true;
}

size_t result_cache::clear_server(std::string_view server) {
  auto i = servers_.find(server);
  if (i == servers_.end())
    return 0;
  auto& st = i->second;
  ++st.generation;
  auto n = st.index.size();
  // Collect first: erasing an entry frees the key its index slot views.
  std::vector<lru_list::iterator> doomed;
  doomed.reserve(n);
  for (auto& kvp : st.index)
    doomed.push_back(kvp.second);
  st.index.clear();
  for (auto pos : doomed) {
    bytes_ -= pos->bytes;
    lru_.erase(pos);
  }
  st.bytes = 0;
  return n;
}

void result_cache::clear() {
  for (auto& kvp : servers_) {
    auto& st = kvp.second;
    ++st.generation;
    st.index.clear();
    st.bytes = 0;
  }
  lru_.clear();
  bytes_ = 0;
}

size_t result_cache::remove_expired(time_point now) {
  size_t n = 0;
  for (auto pos = lru_.begin(); pos != lru_.end();) {
    auto next = std::next(pos);
    if (now >= pos->expires) {
      erase(pos);
      ++n;
    }
    pos = next;
  }
  return n;
}

// -- single flight ------------------------------------------------------------

flight_role result_cache::begin(std::string_view server, std::string_view tool,
                                std::string_view args, waiter_id waiter) {
  if (!caches(tool))
    return flight_role::uncached;
  auto& st = state_of(server);
  make_key(tool, args);
  auto i = st.flights.find(key_);
  if (i == st.flights.end()) {
    st.flights.emplace(key_, flight{st.generation, {}});
    return flight_role::leader;
  }
  i->second.waiters.push_back(waiter);
  ++st.joined;
  return flight_role::joined;
}

std::vector<result_cache::waiter_id>
result_cache::finish(std::string_view server, std::string_view tool,
                     std::string_view args, result_ptr result,
                     bool streamed_progress, time_point now) {
  auto si = servers_.find(server);
  if (si == servers_.end())
    return {};
  auto& st = si->second;
  make_key(tool, args);
  auto i = st.flights.find(key_);
  if (i == st.flights.end())
    return {};
  auto waiters = std::move(i->second.waiters);
  auto current = i->second.generation == st.generation;
  st.flights.erase(i);
  if (result && current)
    store(server, tool, args, std::move(result), streamed_progress, now);
  return waiters;
}

// -- observers ----------------------------------------------------------------

result_cache_stats result_cache::stats(std::string_view server) const {
  result_cache_stats result;
  auto i = servers_.find(server);
  if (i == servers_.end())
    return result;
  auto& st = i->second;
  result.hits = st.hits;
  result.misses = st.misses;
  result.joined = st.joined;
  result.entries = st.index.size();
  result.bytes = st.bytes;
  return result;
}

size_t result_cache::flights() const noexcept {
  size_t n = 0;
  for (auto& kvp : servers_)
    n += kvp.second.flights.size();
  return n;
}

// -- private ------------------------------------------------------------------

result_cache::server_state& result_cache::state_of(std::string_view server) {
  auto i = servers_.find(server);
  if (i != servers_.end())
    return i->second;
  return servers_.emplace(std::string{server}, server_state{}).first->second;
}

void result_cache::make_key(std::string_view tool, std::string_view args) {
  key_.clear();
  append_json_string(key_, tool);
  key_ += args;
}

void result_cache::erase(lru_list::iterator pos) {
  auto& st = *pos->server;
  st.index.erase(std::string_view{pos->key});
  st.bytes -= pos->bytes;
  bytes_ -= pos->bytes;
  lru_.erase(pos);
}

} // namespace caf_mcp
