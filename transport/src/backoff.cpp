#include "caf_mcp/transport/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

namespace caf_mcp::transport {

namespace {

using rep = backoff::duration::rep;

/// Clamps a value from the random source into [0, 1); NaN becomes 0.
double clamp_unit(double x) noexcept {
  if (!(x >= 0.0))
    return 0.0;
  if (x >= 1.0)
    return std::nextafter(1.0, 0.0);
  return x;
}

/// Returns `d * r` for r in [0, 1), rounded down, never above `d`.
backoff::duration scale(backoff::duration d, double r) noexcept {
  auto limit = static_cast<double>(d.count());
  auto x = limit * r;
  if (!(x < limit))
    return d;
  return backoff::duration{static_cast<rep>(x)};
}

// -- HTTP-date (RFC 9110 section 5.6.7) ----------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) noexcept {
  y -= m <= 2 ? 1 : 0;
  auto era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = y - era * 400;
  auto doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  auto doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/// Year of a day count since 1970-01-01 (inverse of days_from_civil).
int64_t year_from_days(int64_t z) noexcept {
  z += 719468;
  auto era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = z - era * 146097;
  auto yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  auto doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  auto mp = (5 * doy + 2) / 153;
  auto m = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (m <= 2 ? 1 : 0);
}

bool is_leap(int64_t y) noexcept {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int64_t days_in_month(int64_t y, int64_t m) noexcept {
  static constexpr int64_t days[] = {31, 28, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/// A cursor over the header value; every read returns false on mismatch.
class date_reader {
public:
  explicit date_reader(std::string_view str) : str_(str) {
    // nop
  }

  bool at_end() const noexcept {
    return str_.empty();
  }

  bool literal(std::string_view x) noexcept {
    if (str_.substr(0, x.size()) != x)
      return false;
    str_.remove_prefix(x.size());
    return true;
  }

  /// Reads exactly `n` digits.
  bool digits(size_t n, int64_t& out) noexcept {
    if (str_.size() < n)
      return false;
    int64_t value = 0;
    for (size_t i = 0; i < n; ++i) {
      auto c = str_[i];
      if (c < '0' || c > '9')
        return false;
      value = value * 10 + (c - '0');
    }
    str_.remove_prefix(n);
    out = value;
    return true;
  }

  /// Reads one of the names, storing its index.
  template <size_t N>
  bool one_of(const std::string_view (&names)[N], int64_t& index) noexcept {
    for (size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        index = static_cast<int64_t>(i);
        return true;
      }
    }
    return false;
  }

  /// Reads "HH:MM:SS".
  bool time_of_day(int64_t& secs) noexcept {
    int64_t h = 0;
    int64_t m = 0;
    int64_t s = 0;
    if (!digits(2, h) || !literal(":") || !digits(2, m) || !literal(":")
        || !digits(2, s))
      return false;
    if (h > 23 || m > 59 || s > 60) // 60: leap second
      return false;
    secs = h * 3600 + m * 60 + s;
    return true;
  }

private:
  std::string_view str_;
};

constexpr std::string_view day_names[] = {"Mon", "Tue", "Wed", "Thu",
                                          "Fri", "Sat", "Sun"};

constexpr std::string_view long_day_names[] = {
  "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

constexpr std::string_view month_names[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};

/// Seconds since the epoch of a validated date, or nullopt.
std::optional<int64_t> to_epoch(int64_t y, int64_t month_index, int64_t d,
                                int64_t secs) noexcept {
  auto m = month_index + 1;
  if (d < 1 || d > days_in_month(y, m))
    return std::nullopt;
  return days_from_civil(y, m, d) * 86400 + secs;
}

/// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<int64_t> parse_imf_fixdate(std::string_view str) noexcept {
  date_reader rd{str};
  int64_t wd = 0, d = 0, mon = 0, y = 0, secs = 0;
  if (rd.one_of(day_names, wd) && rd.literal(", ") && rd.digits(2, d)
      && rd.literal(" ") && rd.one_of(month_names, mon) && rd.literal(" ")
      && rd.digits(4, y) && rd.literal(" ") && rd.time_of_day(secs)
      && rd.literal(" GMT") && rd.at_end())
    return to_epoch(y, mon, d, secs);
  return std::nullopt;
}

/// rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit year: the most
/// recent matching year not more than 50 years after `now_year`).
std::optional<int64_t> parse_rfc850_date(std::string_view str,
                                         int64_t now_year) noexcept {
  date_reader rd{str};
  int64_t wd = 0, d = 0, mon = 0, yy = 0, secs = 0;
  if (!(rd.one_of(long_day_names, wd) && rd.literal(", ") && rd.digits(2, d)
        && rd.literal("-") && rd.one_of(month_names, mon) && rd.literal("-")
        && rd.digits(2, yy) && rd.literal(" ") && rd.time_of_day(secs)
        && rd.literal(" GMT") && rd.at_end()))
    return std::nullopt;
  auto century = now_year - ((now_year % 100) + 100) % 100;
  auto y = century + yy;
  if (y > now_year + 50)
    y -= 100;
  else if (y + 100 <= now_year + 50)
    y += 100;
  return to_epoch(y, mon, d, secs);
}

/// asctime-date: "Sun Nov  6 08:49:37 1994".
std::optional<int64_t> parse_asctime_date(std::string_view str) noexcept {
  date_reader rd{str};
  int64_t wd = 0, d = 0, mon = 0, y = 0, secs = 0;
  if (!(rd.one_of(day_names, wd) && rd.literal(" ")
        && rd.one_of(month_names, mon) && rd.literal(" ")))
    return std::nullopt;
  if (!(rd.literal(" ") ? rd.digits(1, d) : rd.digits(2, d)))
    return std::nullopt;
  if (rd.literal(" ") && rd.time_of_day(secs) && rd.literal(" ")
      && rd.digits(4, y) && rd.at_end())
    return to_epoch(y, mon, d, secs);
  return std::nullopt;
}

} // namespace

// -- jitter_mode ------------------------------------------------------------------

const char* to_string(jitter_mode x) noexcept {
  switch (x) {
    case jitter_mode::none:
      return "none";
    case jitter_mode::full:
      return "full";
    case jitter_mode::equal:
      return "equal";
  }
  return "unknown";
}

bool from_string(std::string_view str, jitter_mode& x) noexcept {
  if (str == "none")
    x = jitter_mode::none;
  else if (str == "full")
    x = jitter_mode::full;
  else if (str == "equal")
    x = jitter_mode::equal;
  else
    return false;
  return true;
}

// -- config -----------------------------------------------------------------------

std::string validate(const backoff_config& cfg) {
  if (cfg.base.count() <= 0)
    return "backoff base delay must be greater than zero";
  if (!std::isfinite(cfg.factor) || cfg.factor < 1.0)
    return "backoff factor must be a finite number >= 1";
  if (cfg.cap < cfg.base)
    return "backoff cap must be at least the base delay";
  if (cfg.stable_period.count() < 0)
    return "backoff stable period must not be negative";
  switch (cfg.jitter) {
    case jitter_mode::none:
    case jitter_mode::full:
    case jitter_mode::equal:
      break;
    default:
      return "backoff jitter mode must be none, full or equal";
  }
  return {};
}

random_source make_random_source(uint64_t seed) {
  // SplitMix64 (Steele, Lea, Flood 2014): 8 bytes of state, passes BigCrush,
  // plenty for jitter. Every held session has one; std::mt19937_64 was 2.5 KB.
  auto state = std::make_shared<uint64_t>(seed);
  return [state] {
    auto z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53; // 53 bits in [0, 1)
  };
}

// -- backoff ----------------------------------------------------------------------

backoff::backoff(backoff_config cfg, random_source rng)
  : cfg_(cfg), rng_(std::move(rng)) {
  if (auto err = validate(cfg_); !err.empty())
    throw std::invalid_argument(err);
  if (cfg_.jitter != jitter_mode::none && !rng_)
    throw std::invalid_argument("backoff with jitter needs a random source");
}

backoff::duration backoff::capped_delay(size_t attempt) const noexcept {
  auto cap = static_cast<double>(cfg_.cap.count());
  auto raw = static_cast<double>(cfg_.base.count());
  if (cfg_.factor > 1.0)
    raw *= std::pow(cfg_.factor, static_cast<double>(attempt));
  // Also catches +inf; below `cap` the value fits into rep.
  if (!(raw < cap))
    return cfg_.cap;
  return duration{static_cast<rep>(raw)};
}

std::optional<backoff::duration> backoff::next_delay() {
  if (exhausted())
    return std::nullopt;
  auto d = capped_delay(attempts_);
  switch (cfg_.jitter) {
    case jitter_mode::none:
      break;
    case jitter_mode::full:
      d = scale(d, clamp_unit(rng_()));
      break;
    case jitter_mode::equal: {
      auto half = d / 2;
      d = half + scale(d - half, clamp_unit(rng_()));
      break;
    }
  }
  if (attempts_ < std::numeric_limits<size_t>::max())
    ++attempts_;
  return std::max(floor_, d);
}

void backoff::on_connected(time_point now) noexcept {
  connected_ = true;
  connected_at_ = now;
}

void backoff::on_disconnected(time_point now) noexcept {
  if (connected_ && now - connected_at_ >= cfg_.stable_period)
    attempts_ = 0;
  connected_ = false;
}

bool backoff::exhausted() const noexcept {
  return cfg_.max_attempts != 0 && attempts_ >= cfg_.max_attempts;
}

void backoff::reset() noexcept {
  attempts_ = 0;
  floor_ = duration{0};
  connected_ = false;
  connected_at_ = time_point{};
}

void backoff::set_floor(duration x) noexcept {
  floor_ = std::clamp(x, duration{0}, cfg_.cap);
}

// -- Retry-After ------------------------------------------------------------------

std::optional<std::chrono::seconds>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  if (value.empty())
    return std::nullopt;
  // delta-seconds = 1*DIGIT
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    constexpr int64_t limit = int64_t{1} << 31;
    int64_t secs = 0;
    for (auto c : value) {
      secs = secs * 10 + (c - '0');
      if (secs >= limit) {
        secs = limit;
        break;
      }
    }
    return std::chrono::seconds{secs};
  }
  // HTTP-date, compared in whole seconds so that no date can overflow the
  // clock's duration type.
  using std::chrono::floor;
  using std::chrono::seconds;
  auto now_secs = floor<seconds>(now.time_since_epoch()).count();
  auto now_days = now_secs >= 0 ? now_secs / 86400
                                : (now_secs - 86399) / 86400;
  auto date = parse_imf_fixdate(value);
  if (!date)
    date = parse_rfc850_date(value, year_from_days(now_days));
  if (!date)
    date = parse_asctime_date(value);
  if (!date)
    return std::nullopt;
  return seconds{std::max(int64_t{0}, *date - now_secs)};
}

} // namespace caf_mcp::transport
