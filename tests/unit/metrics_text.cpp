#define CAF_SUITE metrics_text
#include "caf/test/unit_test.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "metrics_text.hpp"

using namespace caf_mcp::node;

namespace {

std::string value_text(double x) {
  std::string out;
  append_value(out, x);
  return out;
}

} // namespace

CAF_TEST(names follow the exposition format) {
  CAF_CHECK(valid_metric_name("caf_mcp_server_up"));
  CAF_CHECK(valid_metric_name("a:b_c9"));
  CAF_CHECK(valid_metric_name("_x"));
  CAF_CHECK(!valid_metric_name(""));
  CAF_CHECK(!valid_metric_name("9lives"));
  CAF_CHECK(!valid_metric_name("a-b"));
  CAF_CHECK(!valid_metric_name("a b"));
  CAF_CHECK(valid_label_name("server"));
  CAF_CHECK(!valid_label_name("a:b")); // no colon in label names
  CAF_CHECK(!valid_label_name("__reserved"));
  CAF_CHECK(!valid_label_name("1x"));
}

CAF_TEST(values are written as the format reads them) {
  CAF_CHECK_EQUAL(value_text(0), "0");
  CAF_CHECK_EQUAL(value_text(42), "42");
  CAF_CHECK_EQUAL(value_text(-3), "-3");
  CAF_CHECK_EQUAL(value_text(0.5), "0.5");
  CAF_CHECK_EQUAL(value_text(50e-6), "5e-05");
  CAF_CHECK_EQUAL(value_text(0.1), "0.1");
  CAF_CHECK_EQUAL(value_text(std::numeric_limits<double>::infinity()), "+Inf");
  CAF_CHECK_EQUAL(value_text(-std::numeric_limits<double>::infinity()),
                  "-Inf");
  CAF_CHECK_EQUAL(value_text(std::nan("")), "NaN");
  // Every written value reads back exactly.
  for (double x : {1.0 / 3, 2.5e-3, 123456.789, 1e300, 1e15 + 0.5})
    CAF_CHECK_EQUAL(std::strtod(value_text(x).c_str(), nullptr), x);
}

CAF_TEST(label values and help text are escaped) {
  metrics_writer w;
  CAF_REQUIRE(w.family("caf_mcp_server_up", "1 when \\ready\\\nelse 0",
                       metric_type::gauge));
  CAF_REQUIRE(w.sample({{"server", "a\\b\"c\nd \xc3\xa4"}}, 1));
  CAF_CHECK_EQUAL(w.take(),
                  "# HELP caf_mcp_server_up 1 when \\\\ready\\\\\\nelse 0\n"
                  "# TYPE caf_mcp_server_up gauge\n"
                  "caf_mcp_server_up{server=\"a\\\\b\\\"c\\nd \xc3\xa4\"} 1\n");
}

CAF_TEST(each family is written once and samples need their family) {
  metrics_writer w;
  CAF_CHECK(!w.sample({}, 1)); // no family yet
  CAF_REQUIRE(w.family("x_total", "x", metric_type::counter));
  CAF_CHECK(w.sample({}, 3));
  CAF_CHECK(!w.family("x_total", "again", metric_type::counter));
  CAF_CHECK(!w.family("bad name", "x", metric_type::gauge));
  CAF_CHECK(!w.sample({{"bad-label", "v"}}, 1));
  CAF_CHECK(!w.histogram_sample({}, histogram{})); // a counter family
  auto text = w.take();
  CAF_CHECK_EQUAL(text, "# HELP x_total x\n# TYPE x_total counter\n"
                        "x_total 3\n");
  // After take() the writer starts afresh.
  CAF_CHECK(w.family("x_total", "x", metric_type::counter));
}

CAF_TEST(histograms are cumulative and end in +Inf sum and count) {
  histogram h{{0.001, 0.01, 0.1}};
  h.observe(0.0005); // le 0.001
  h.observe(0.001);  // le 0.001 (bounds are inclusive)
  h.observe(0.05);   // le 0.1
  h.observe(5);      // +Inf only
  metrics_writer w;
  CAF_REQUIRE(w.family("d_seconds", "d", metric_type::histogram));
  CAF_CHECK(!w.sample({}, 1)); // histograms take histogram samples
  CAF_REQUIRE(w.histogram_sample({{"server", "s"}}, h));
  CAF_CHECK(!w.histogram_sample({{"le", "x"}}, h)); // le is the format's
  CAF_CHECK_EQUAL(h.count(), 4u);
  CAF_CHECK(std::fabs(h.sum() - 5.0515) < 1e-12);
  CAF_CHECK_EQUAL(w.take(),
                  "# HELP d_seconds d\n# TYPE d_seconds histogram\n"
                  "d_seconds_bucket{server=\"s\",le=\"0.001\"} 2\n"
                  "d_seconds_bucket{server=\"s\",le=\"0.01\"} 2\n"
                  "d_seconds_bucket{server=\"s\",le=\"0.1\"} 3\n"
                  "d_seconds_bucket{server=\"s\",le=\"+Inf\"} 4\n"
                  "d_seconds_sum{server=\"s\"} " + value_text(h.sum())
                    + "\n"
                  "d_seconds_count{server=\"s\"} 4\n");
}

CAF_TEST(the duration buckets span 50 microseconds to 60 seconds) {
  auto& b = duration_buckets();
  CAF_REQUIRE(!b.empty());
  CAF_CHECK_EQUAL(b.front(), 50e-6);
  CAF_CHECK_EQUAL(b.back(), 60.0);
  CAF_CHECK(std::is_sorted(b.begin(), b.end()));
}
