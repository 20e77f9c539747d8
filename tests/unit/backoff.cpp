#define CAF_SUITE backoff
#include "caf/test/unit_test.hpp"

#include "caf_mcp/transport/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

using namespace caf_mcp::transport;
using namespace std::chrono_literals;

namespace {

/// Milliseconds of an optional delay; -1 for "give up".
int64_t ms(std::optional<backoff::duration> d) {
  if (!d)
    return -1;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
}

backoff_config exact(std::chrono::milliseconds base, double factor,
                     std::chrono::milliseconds cap) {
  backoff_config cfg;
  cfg.base = base;
  cfg.factor = factor;
  cfg.cap = cap;
  cfg.jitter = jitter_mode::none;
  return cfg;
}

/// A random source that returns the given values in a loop.
random_source sequence(std::vector<double> xs) {
  auto i = std::make_shared<size_t>(0);
  return [xs, i] { return xs[(*i)++ % xs.size()]; };
}

std::chrono::system_clock::time_point at_epoch_seconds(int64_t secs) {
  return std::chrono::system_clock::time_point{std::chrono::seconds{secs}};
}

/// Sun, 06 Nov 1994 08:49:37 GMT.
constexpr int64_t rfc_example = 784111777;

int64_t secs(std::optional<std::chrono::seconds> x) {
  return x ? x->count() : -1;
}

} // namespace

CAF_TEST(without jitter delays grow exactly by the factor) {
  backoff b{exact(100ms, 2.0, 1h)};
  std::vector<int64_t> got;
  for (int i = 0; i < 6; ++i)
    got.push_back(ms(b.next_delay()));
  CAF_CHECK_EQUAL(got, (std::vector<int64_t>{100, 200, 400, 800, 1600, 3200}));
  CAF_CHECK_EQUAL(b.attempts(), 6u);
}

CAF_TEST(a fractional factor is honoured) {
  backoff b{exact(1000ms, 1.5, 1h)};
  CAF_CHECK_EQUAL(ms(b.next_delay()), 1000);
  CAF_CHECK_EQUAL(ms(b.next_delay()), 1500);
  CAF_CHECK_EQUAL(ms(b.next_delay()), 2250);
}

CAF_TEST(the cap is reached and held) {
  backoff b{exact(100ms, 2.0, 1000ms)};
  std::vector<int64_t> got;
  for (int i = 0; i < 8; ++i)
    got.push_back(ms(b.next_delay()));
  CAF_CHECK_EQUAL(got, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000,
                                             1000, 1000}));
}

CAF_TEST(a factor of one gives a constant delay) {
  backoff b{exact(250ms, 1.0, 1s)};
  for (int i = 0; i < 5; ++i)
    CAF_CHECK_EQUAL(ms(b.next_delay()), 250);
}

CAF_TEST(the policy gives up after max attempts) {
  auto cfg = exact(100ms, 2.0, 1s);
  cfg.max_attempts = 3;
  backoff b{cfg};
  CAF_CHECK_EQUAL(ms(b.next_delay()), 100);
  CAF_CHECK_EQUAL(ms(b.next_delay()), 200);
  CAF_CHECK(!b.exhausted());
  CAF_CHECK_EQUAL(ms(b.next_delay()), 400);
  CAF_CHECK(b.exhausted());
  CAF_CHECK(!b.next_delay());
  CAF_CHECK(!b.next_delay());
  CAF_CHECK_EQUAL(b.attempts(), 3u);
  b.reset();
  CAF_CHECK_EQUAL(ms(b.next_delay()), 100);
}

CAF_TEST(zero max attempts retries forever) {
  backoff b{exact(1ms, 2.0, 10ms)};
  auto given = 0;
  for (int i = 0; i < 10000; ++i)
    if (b.next_delay())
      ++given;
  CAF_CHECK_EQUAL(given, 10000);
  CAF_CHECK_EQUAL(b.attempts(), 10000u);
  CAF_CHECK(!b.exhausted());
}

CAF_TEST(a connection up for the stable period resets the attempts) {
  auto cfg = exact(100ms, 2.0, 10s);
  cfg.stable_period = 30s;
  backoff b{cfg};
  b.next_delay();
  b.next_delay();
  b.next_delay();
  CAF_CHECK_EQUAL(b.attempts(), 3u);
  backoff::time_point t0{};
  b.on_connected(t0);
  b.on_disconnected(t0 + 30s);
  CAF_CHECK_EQUAL(b.attempts(), 0u);
  CAF_CHECK_EQUAL(ms(b.next_delay()), 100);
}

CAF_TEST(a connection shorter than the stable period keeps the attempts) {
  auto cfg = exact(100ms, 2.0, 10s);
  cfg.stable_period = 30s;
  backoff b{cfg};
  b.next_delay();
  b.next_delay();
  backoff::time_point t0{};
  b.on_connected(t0 + 1s);
  b.on_disconnected(t0 + 1s + 29999ms);
  CAF_CHECK_EQUAL(b.attempts(), 2u);
  CAF_CHECK_EQUAL(ms(b.next_delay()), 400);
  // A disconnect without a connect (e.g. a failed attempt) resets nothing.
  b.on_disconnected(t0 + 1h);
  CAF_CHECK_EQUAL(b.attempts(), 3u);
  // A clock that went backwards is not a stable connection.
  b.on_connected(t0 + 2h);
  b.on_disconnected(t0 + 1h);
  CAF_CHECK_EQUAL(b.attempts(), 3u);
}

CAF_TEST(full jitter stays within zero and the computed delay) {
  auto cfg = exact(100ms, 2.0, 10s);
  cfg.jitter = jitter_mode::full;
  backoff b{cfg, sequence({0.0, 0.5, 0.999})};
  CAF_CHECK_EQUAL(ms(b.next_delay()), 0);   // 100 * 0
  CAF_CHECK_EQUAL(ms(b.next_delay()), 100); // 200 * 0.5
  CAF_CHECK_EQUAL(ms(b.next_delay()), 399); // 400 * 0.999
  for (int i = 0; i < 30; ++i) {
    auto bound = b.capped_delay(b.attempts());
    auto d = b.next_delay();
    CAF_REQUIRE(d);
    CAF_CHECK_GREATER_OR_EQUAL(d->count(), 0);
    CAF_CHECK_LESS_OR_EQUAL(d->count(), bound.count());
  }
}

CAF_TEST(equal jitter stays within half and the computed delay) {
  auto cfg = exact(100ms, 2.0, 10s);
  cfg.jitter = jitter_mode::equal;
  backoff b{cfg, sequence({0.0, 0.5, 0.999})};
  CAF_CHECK_EQUAL(ms(b.next_delay()), 50);  // 50 + 50 * 0
  CAF_CHECK_EQUAL(ms(b.next_delay()), 150); // 100 + 100 * 0.5
  CAF_CHECK_EQUAL(ms(b.next_delay()), 399); // 200 + 200 * 0.999
}

CAF_TEST(random values outside zero to one are clamped) {
  auto cfg = exact(100ms, 2.0, 10s);
  cfg.jitter = jitter_mode::full;
  backoff b{cfg, sequence({-5.0, 7.0, std::numeric_limits<double>::quiet_NaN(),
                           1.0})};
  CAF_CHECK_EQUAL(ms(b.next_delay()), 0);
  auto d = b.next_delay();
  CAF_REQUIRE(d);
  CAF_CHECK_LESS_OR_EQUAL(*d, backoff::duration{200ms});
  CAF_CHECK_GREATER(*d, backoff::duration{199ms});
  CAF_CHECK_EQUAL(ms(b.next_delay()), 0);
  d = b.next_delay();
  CAF_REQUIRE(d);
  CAF_CHECK_LESS_OR_EQUAL(*d, backoff::duration{800ms});
}

CAF_TEST(a server retry value is a floor) {
  auto cfg = exact(100ms, 2.0, 10s);
  backoff b{cfg};
  b.set_floor(300ms);
  CAF_CHECK_EQUAL(ms(b.next_delay()), 300); // max(300, 100)
  CAF_CHECK_EQUAL(ms(b.next_delay()), 300); // max(300, 200)
  CAF_CHECK_EQUAL(ms(b.next_delay()), 400); // max(300, 400)
  // The floor is clamped to the cap.
  b.set_floor(1h);
  CAF_CHECK_EQUAL(ms(b.next_delay()), 10000);
  // Zero removes it; reset() forgets it.
  b.set_floor(0ms);
  CAF_CHECK_EQUAL(ms(b.next_delay()), 1600);
  b.set_floor(5s);
  b.reset();
  CAF_CHECK_EQUAL(b.retry_floor().count(), 0);
  CAF_CHECK_EQUAL(ms(b.next_delay()), 100);
}

CAF_TEST(a floor applies after jitter) {
  auto cfg = exact(100ms, 2.0, 10s);
  cfg.jitter = jitter_mode::full;
  backoff b{cfg, sequence({0.0})};
  b.set_floor(50ms);
  CAF_CHECK_EQUAL(ms(b.next_delay()), 50);
}

CAF_TEST(huge attempt counts saturate at the cap) {
  auto cfg = exact(100ms, 2.0, 30s);
  backoff b{cfg};
  CAF_CHECK_EQUAL(ms(b.capped_delay(1000)), 30000);
  CAF_CHECK_EQUAL(ms(b.capped_delay(std::numeric_limits<size_t>::max())),
                  30000);
  for (int i = 0; i < 1000; ++i)
    b.next_delay();
  CAF_CHECK_EQUAL(b.attempts(), 1000u);
  CAF_CHECK_EQUAL(ms(b.next_delay()), 30000);
  // A cap at the limit of the duration type and a huge factor.
  backoff_config wide;
  wide.base = 1ns;
  wide.factor = 1e300;
  wide.cap = backoff::duration::max();
  wide.jitter = jitter_mode::full;
  backoff w{wide, sequence({0.999999999999})};
  for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{1000}}) {
    auto d = w.capped_delay(n);
    CAF_CHECK_GREATER(d.count(), 0);
    CAF_CHECK_LESS_OR_EQUAL(d, backoff::duration::max());
  }
  for (int i = 0; i < 5; ++i) {
    auto d = w.next_delay();
    CAF_REQUIRE(d);
    CAF_CHECK_GREATER_OR_EQUAL(d->count(), 0);
  }
}

CAF_TEST(invalid configurations are refused with a clear message) {
  auto bad_factor = exact(100ms, 0.5, 1s);
  CAF_CHECK_EQUAL(validate(bad_factor),
                  "backoff factor must be a finite number >= 1");
  auto nan_factor = exact(100ms, std::numeric_limits<double>::quiet_NaN(), 1s);
  CAF_CHECK(!validate(nan_factor).empty());
  auto inf_factor = exact(100ms, std::numeric_limits<double>::infinity(), 1s);
  CAF_CHECK(!validate(inf_factor).empty());
  auto zero_base = exact(0ms, 2.0, 1s);
  CAF_CHECK_EQUAL(validate(zero_base),
                  "backoff base delay must be greater than zero");
  auto small_cap = exact(100ms, 2.0, 99ms);
  CAF_CHECK_EQUAL(validate(small_cap),
                  "backoff cap must be at least the base delay");
  auto negative_stable = exact(100ms, 2.0, 1s);
  negative_stable.stable_period = -1s;
  CAF_CHECK(!validate(negative_stable).empty());
  CAF_CHECK(validate(backoff_config{}).empty());
  CAF_CHECK(validate(exact(100ms, 1.0, 100ms)).empty());
  auto throws = [](backoff_config cfg, random_source rng) {
    try {
      backoff b{cfg, std::move(rng)};
      return std::string{};
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
  };
  CAF_CHECK_EQUAL(throws(small_cap, nullptr),
                  "backoff cap must be at least the base delay");
  // Jitter without a random source is a programming error.
  auto jittered = exact(100ms, 2.0, 1s);
  jittered.jitter = jitter_mode::full;
  CAF_CHECK_EQUAL(throws(jittered, nullptr),
                  "backoff with jitter needs a random source");
  CAF_CHECK_EQUAL(throws(jittered, make_random_source(42)), "");
}

CAF_TEST(the seeded random source is deterministic and in range) {
  auto a = make_random_source(7);
  auto b = make_random_source(7);
  auto same = 0;
  auto in_range = 0;
  for (int i = 0; i < 1000; ++i) {
    auto x = a();
    if (x == b())
      ++same;
    if (x >= 0.0 && x < 1.0)
      ++in_range;
  }
  CAF_CHECK_EQUAL(same, 1000);
  CAF_CHECK_EQUAL(in_range, 1000);
  CAF_CHECK_NOT_EQUAL(make_random_source(8)(), make_random_source(7)());
}

CAF_TEST(the seeded random source spreads evenly over zero to one) {
  // Ten equal bins over 100000 draws: each gets 10 % +- 1 %, and close
  // seeds give unrelated sequences.
  constexpr int draws = 100000;
  for (uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{2}}) {
    auto rng = make_random_source(seed);
    int bins[10] = {};
    for (int i = 0; i < draws; ++i) {
      auto x = rng();
      ++bins[std::min(9, static_cast<int>(x * 10))];
    }
    for (auto n : bins) {
      CAF_CHECK_GREATER(n, draws / 10 - draws / 100);
      CAF_CHECK_LESS(n, draws / 10 + draws / 100);
    }
  }
  auto a = make_random_source(1);
  auto b = make_random_source(2);
  auto close = 0;
  for (int i = 0; i < 1000; ++i)
    if (std::abs(a() - b()) < 0.01)
      ++close;
  CAF_CHECK_LESS(close, 50); // about 20 expected for unrelated sequences
}

CAF_TEST(jitter modes round-trip through strings) {
  for (auto mode : {jitter_mode::none, jitter_mode::full, jitter_mode::equal}) {
    jitter_mode parsed = jitter_mode::none;
    CAF_CHECK(from_string(to_string(mode), parsed));
    CAF_CHECK(parsed == mode);
  }
  jitter_mode unused = jitter_mode::none;
  CAF_CHECK(!from_string("Full", unused));
  CAF_CHECK(!from_string("", unused));
}

// -- Retry-After -------------------------------------------------------------

CAF_TEST(Retry-After delta seconds) {
  auto now = at_epoch_seconds(rfc_example);
  CAF_CHECK_EQUAL(secs(parse_retry_after("120", now)), 120);
  CAF_CHECK_EQUAL(secs(parse_retry_after("0", now)), 0);
  CAF_CHECK_EQUAL(secs(parse_retry_after(" 5\t", now)), 5);
  CAF_CHECK_EQUAL(secs(parse_retry_after("99999999999999999999999", now)),
                  int64_t{1} << 31);
  CAF_CHECK_EQUAL(secs(parse_retry_after("", now)), -1);
  CAF_CHECK_EQUAL(secs(parse_retry_after("-5", now)), -1);
  CAF_CHECK_EQUAL(secs(parse_retry_after("+5", now)), -1);
  CAF_CHECK_EQUAL(secs(parse_retry_after("1.5", now)), -1);
  CAF_CHECK_EQUAL(secs(parse_retry_after("5s", now)), -1);
  CAF_CHECK_EQUAL(secs(parse_retry_after("1 2", now)), -1);
}

CAF_TEST(Retry-After HTTP dates in all three formats) {
  auto now = at_epoch_seconds(rfc_example - 90);
  CAF_CHECK_EQUAL(secs(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now)),
                  90);
  CAF_CHECK_EQUAL(
    secs(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now)), 90);
  CAF_CHECK_EQUAL(secs(parse_retry_after("Sun Nov  6 08:49:37 1994", now)), 90);
  // Sub-second "now" rounds the wait up to whole seconds.
  auto later = now + std::chrono::milliseconds{300};
  CAF_CHECK_EQUAL(
    secs(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later)), 90);
  // Leap years, a leap second and the end of a year.
  auto y2k = at_epoch_seconds(951782400); // 2000-02-29T00:00:00Z
  CAF_CHECK_EQUAL(secs(parse_retry_after("Tue, 29 Feb 2000 00:00:10 GMT", y2k)),
                  10);
  CAF_CHECK_EQUAL(secs(parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT", y2k)),
                  978307200 - 951782400);
  CAF_CHECK_EQUAL(secs(parse_retry_after("Tue, 29 Feb 2000 00:00:60 GMT", y2k)),
                  60);
}

CAF_TEST(Retry-After dates in the past mean now) {
  auto now = at_epoch_seconds(rfc_example + 1000);
  CAF_CHECK_EQUAL(secs(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now)),
                  0);
  CAF_CHECK_EQUAL(secs(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now)),
                  0);
}

CAF_TEST(Retry-After two-digit years stay within fifty years ahead) {
  // now = 2024-01-01T00:00:00Z.
  auto now = at_epoch_seconds(1704067200);
  // "70" would be 2070 (46 years ahead): taken as 2070.
  auto y2070 = parse_retry_after("Tuesday, 01-Jan-70 00:00:00 GMT", now);
  CAF_CHECK_EQUAL(secs(y2070), 3155760000 - 1704067200);
  // "80" would be 2080 (56 years ahead): taken as 1980, in the past.
  CAF_CHECK_EQUAL(
    secs(parse_retry_after("Tuesday, 01-Jan-80 00:00:00 GMT", now)), 0);
}

CAF_TEST(Retry-After rejects malformed dates) {
  auto now = at_epoch_seconds(rfc_example);
  for (auto bad : {"Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37",
                   "Sun, 06 Nov 1994 08:49:37 UTC", "sun, 06 Nov 1994 08:49:37 GMT",
                   "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 29 Feb 1900 08:49:37 GMT",
                   "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                   "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 08:49:61 GMT",
                   "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMTx",
                   "Sun Nov 6 08:49:37 1994", "Sunday, 06-Nov-1994 08:49:37 GMT",
                   "tomorrow", "Sun, 06 Nov 1994 8:49:37 GMT"})
    CAF_CHECK_EQUAL(std::string{bad} + " -> "
                      + std::to_string(secs(parse_retry_after(bad, now))),
                    std::string{bad} + " -> -1");
}
