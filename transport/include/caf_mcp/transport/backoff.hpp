// Reconnect backoff policy: pure maths in the style of Erlang/OTP supervisors
// and Akka's BackoffSupervisor. The random source and the current time are
// passed in, never read inside, so tests get exact delays.
//
//   delay(n) = max(floor, jitter(min(cap, base * factor^n)))
//
// where n is the number of delays handed out since the last reset. A
// connection that stays up for `stable_period` resets n to 0.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace caf_mcp::transport {

/// How a computed delay `d` is randomised.
enum class jitter_mode : uint8_t {
  none,  ///< exactly d
  full,  ///< uniform in [0, d] (AWS "full jitter")
  equal, ///< d/2 plus uniform in [0, d/2] (AWS "equal jitter")
};

/// Returns "none", "full" or "equal".
const char* to_string(jitter_mode x) noexcept;

/// Parses "none", "full" or "equal"; returns false for anything else.
bool from_string(std::string_view str, jitter_mode& x) noexcept;

/// Parameters of the backoff policy.
struct backoff_config {
  using duration = std::chrono::nanoseconds;
  /// Delay before the first retry; must be > 0.
  duration base = std::chrono::milliseconds{100};
  /// Growth per attempt; must be finite and >= 1.
  double factor = 2.0;
  /// Upper bound for the computed delay; must be >= base.
  duration cap = std::chrono::seconds{30};
  /// Number of delays before giving up; 0 means retry forever.
  size_t max_attempts = 0;
  /// A connection up for at least this long resets the attempt counter.
  duration stable_period = std::chrono::seconds{30};
  /// Randomisation of each delay.
  jitter_mode jitter = jitter_mode::full;
};

/// Returns an empty string if `cfg` is valid, otherwise a message saying
/// which field is wrong and why.
std::string validate(const backoff_config& cfg);

/// Returns numbers in [0, 1). Values outside that range are clamped.
using random_source = std::function<double()>;

/// Returns a random source backed by its own seeded SplitMix64 generator
/// (8 bytes of state; no global state; each copy of the function shares
/// one generator).
random_source make_random_source(uint64_t seed);

/// Computes reconnect delays. Not thread-safe; owned by one actor.
class backoff {
public:
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::steady_clock::time_point;

  /// Throws std::invalid_argument with the message of `validate` if `cfg` is
  /// invalid, or if jitter is enabled and `rng` is empty.
  explicit backoff(backoff_config cfg, random_source rng = nullptr);

  /// Returns the delay before the next attempt and counts the attempt, or
  /// nullopt once `max_attempts` delays were handed out (give up).
  std::optional<duration> next_delay();

  /// Returns min(cap, base * factor^attempt) without jitter or floor;
  /// saturates at cap for any attempt, never overflows.
  duration capped_delay(size_t attempt) const noexcept;

  /// Records that a connection is up at `now`.
  void on_connected(time_point now) noexcept;

  /// Records that the connection went down at `now`; resets the attempt
  /// counter if it was up for at least `stable_period`.
  void on_disconnected(time_point now) noexcept;

  /// Returns how many delays were handed out since the last reset.
  size_t attempts() const noexcept {
    return attempts_;
  }

  /// Returns true if `next_delay` would give up.
  bool exhausted() const noexcept;

  /// Forgets attempts, the floor and the connection state.
  void reset() noexcept;

  /// Sets a lower bound for every following delay (the SSE `retry:` field or
  /// an HTTP Retry-After). Clamped to the cap; zero removes the floor.
  void set_floor(duration x) noexcept;

  /// Returns the current floor (zero if none).
  duration retry_floor() const noexcept {
    return floor_;
  }

  /// Returns the configuration.
  const backoff_config& config() const noexcept {
    return cfg_;
  }

private:
  backoff_config cfg_;
  random_source rng_;
  size_t attempts_ = 0;
  duration floor_{0};
  bool connected_ = false;
  time_point connected_at_;
};

/// Parses an HTTP `Retry-After` value (RFC 9110 section 10.2.3): either
/// delta-seconds or an HTTP-date (IMF-fixdate, RFC 850 or asctime form),
/// the latter relative to `now`. A date in the past yields zero; huge
/// delta-seconds saturate at 2^31 s. Returns nullopt for anything else.
std::optional<std::chrono::seconds>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now);

} // namespace caf_mcp::transport
