// /metrics content negotiation (common/metrics_format.cc): which format and encoding a
// scraper gets, the text-to-OpenMetrics conversion fed in arbitrary parts, and gzip.
#include "common/metrics_format.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace failover {
namespace {

std::string Gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[4096];
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc == Z_OK);
  EXPECT_EQ(rc, Z_STREAM_END) << "not a complete gzip stream";
  inflateEnd(&z);
  return out;
}

TEST(MetricsFormatTest, NegotiatesAsPrometheusAsks) {
  // What Prometheus 2.42 sends on every scrape.
  const std::string prometheus =
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
      "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
  auto f = NegotiateMetricsFormat(prometheus, "gzip");
  EXPECT_TRUE(f.openmetrics);
  EXPECT_EQ(f.openmetrics_version, "1.0.0");
  EXPECT_TRUE(f.gzip);

  EXPECT_FALSE(NegotiateMetricsFormat("", "").openmetrics);
  EXPECT_FALSE(NegotiateMetricsFormat("text/plain;version=0.0.4", "").openmetrics);
  EXPECT_FALSE(NegotiateMetricsFormat("application/json", "").openmetrics);
  EXPECT_FALSE(NegotiateMetricsFormat("*/*", "").openmetrics);
  EXPECT_FALSE(NegotiateMetricsFormat("application/openmetrics-text;q=0.3, text/plain;q=0.5", "")
                   .openmetrics);
  auto old = NegotiateMetricsFormat("application/openmetrics-text; version=0.0.1", "");
  EXPECT_TRUE(old.openmetrics);
  EXPECT_EQ(old.openmetrics_version, "0.0.1");
  EXPECT_FALSE(
      NegotiateMetricsFormat("application/openmetrics-text; version=2.0.0", "").openmetrics);

  EXPECT_FALSE(NegotiateMetricsFormat("", "").gzip);
  EXPECT_FALSE(NegotiateMetricsFormat("", "identity").gzip);
  EXPECT_FALSE(NegotiateMetricsFormat("", "gzip;q=0").gzip);
  EXPECT_FALSE(NegotiateMetricsFormat("", "*, gzip;q=0").gzip);
  EXPECT_TRUE(NegotiateMetricsFormat("", "deflate, GZIP;q=0.5").gzip);
  EXPECT_TRUE(NegotiateMetricsFormat("", "*").gzip);
}

const char* kText =
    "# HELP failover_exporter_probes_total Probe runs \"finished\", by kind.\n"
    "# TYPE failover_exporter_probes_total counter\n"
    "failover_exporter_probes_total{kind=\"http\",result=\"success\"} 3\n"
    "failover_exporter_probes_total{kind=\"tcp\",result=\"a} b\"} 1\n"
    "# a comment the text format allows\n"
    "\n"
    "# HELP failover_probe_duration_seconds How long.\n"
    "# TYPE failover_probe_duration_seconds gauge\n"
    "failover_probe_duration_seconds{probe=\"x\"} 0.25 1700000000123\n"
    "# TYPE something untyped\n"
    "something 1\n"
    "# HELP process_cpu_seconds_total CPU.\n"
    "# TYPE process_cpu_seconds_total counter\n"
    "process_cpu_seconds_total 0.5\n"
    "# HELP lat_seconds Lateness.\n"
    "# TYPE lat_seconds histogram\n"
    "lat_seconds_count 2\n"
    "lat_seconds_sum 0.3\n"
    "lat_seconds_bucket{le=\"0.1\"} 1\n"
    "lat_seconds_bucket{le=\"+Inf\"} 2\n";

const char* kOpenMetrics =
    "# HELP failover_exporter_probes Probe runs \\\"finished\\\", by kind.\n"
    "# TYPE failover_exporter_probes counter\n"
    "failover_exporter_probes_total{kind=\"http\",result=\"success\"} 3\n"
    "failover_exporter_probes_created{kind=\"http\",result=\"success\"} 1700000000.500\n"
    "failover_exporter_probes_total{kind=\"tcp\",result=\"a} b\"} 1\n"
    "failover_exporter_probes_created{kind=\"tcp\",result=\"a} b\"} 1700000000.500\n"
    "# HELP failover_probe_duration_seconds How long.\n"
    "# TYPE failover_probe_duration_seconds gauge\n"
    "# UNIT failover_probe_duration_seconds seconds\n"
    "failover_probe_duration_seconds{probe=\"x\"} 0.25 1700000000.123\n"
    "# TYPE something unknown\n"
    "something 1\n"
    "# HELP process_cpu_seconds CPU.\n"
    "# TYPE process_cpu_seconds counter\n"
    "# UNIT process_cpu_seconds seconds\n"
    "process_cpu_seconds_total 0.5\n"
    "# HELP lat_seconds Lateness.\n"
    "# TYPE lat_seconds histogram\n"
    "# UNIT lat_seconds seconds\n"
    "lat_seconds_count 2\n"
    "lat_seconds_sum 0.3\n"
    "lat_seconds_bucket{le=\"0.1\"} 1\n"
    "lat_seconds_bucket{le=\"+Inf\"} 2\n"
    "# EOF\n";

std::optional<double> Created(std::string_view family) {
  if (family == "failover_exporter_probes") return 1700000000.5;
  return std::nullopt;
}

TEST(MetricsFormatTest, ConvertsTextToOpenMetricsWhateverTheParts) {
  for (size_t part : {size_t{1}, size_t{7}, size_t{64}, std::string(kText).size()}) {
    OpenMetricsConverter c(Created);
    std::string out;
    std::string_view in = kText;
    for (size_t i = 0; i < in.size(); i += part) c.Feed(in.substr(i, part), out);
    c.Finish(out);
    EXPECT_EQ(out, kOpenMetrics) << "parts of " << part;
  }
}

HttpServerRequest Request(std::string accept, std::string encoding) {
  HttpServerRequest r;
  r.method = "GET";
  r.path = "/metrics";
  if (!accept.empty()) r.headers["accept"] = std::move(accept);
  if (!encoding.empty()) r.headers["accept-encoding"] = std::move(encoding);
  return r;
}

std::string Header(const HttpServerResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

// Drains a streamed answer the way the server sends it: part by part, no empty part
// before the end (an empty chunk would end the chunked body early).
std::string Drain(HttpServerResponse& r) {
  std::string body;
  while (true) {
    std::string part;
    bool more = r.stream(part);
    if (more) {
      EXPECT_FALSE(part.empty()) << "an empty part before the end";
    }
    body += part;
    if (!more) return body;
  }
}

TEST(MetricsFormatTest, BodyAnswersAreConvertedAndCompressed) {
  HttpServerResponse text;
  text.content_type = kTextContentType;
  text.body = kText;

  auto plain = NegotiateMetrics(Request("", ""), text, Created);
  EXPECT_EQ(plain.content_type, kTextContentType);
  EXPECT_EQ(plain.body, kText);
  EXPECT_EQ(Header(plain, "Content-Encoding"), "");
  EXPECT_EQ(Header(plain, "Vary"), "Accept, Accept-Encoding");

  auto om =
      NegotiateMetrics(Request("application/openmetrics-text; version=1.0.0", ""), text, Created);
  EXPECT_EQ(om.content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_EQ(om.body, kOpenMetrics);

  auto gz = NegotiateMetrics(Request("", "gzip"), text, Created);
  EXPECT_EQ(Header(gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(gz.content_type, kTextContentType);
  EXPECT_EQ(Gunzip(gz.body), kText);
}

TEST(MetricsFormatTest, StreamedAnswersStayStreamed) {
  // A big page in many parts, as the exporter streams its result store.
  std::string series;
  for (int i = 0; i < 20000; ++i) {
    series += "failover_probe_success{probe=\"p" + std::to_string(i) + "\"} 1\n";
  }
  auto make = [&] {
    HttpServerResponse r;
    r.content_type = kTextContentType;
    r.stream = [data = "# TYPE failover_probe_success gauge\n" + series,
                pos = size_t{0}](std::string& part) mutable {
      part = data.substr(pos, 1000);
      pos += 1000;
      return pos < data.size();
    };
    return r;
  };
  auto both = NegotiateMetrics(Request("application/openmetrics-text", "gzip"), make());
  ASSERT_TRUE(both.stream);
  std::string compressed = Drain(both);
  EXPECT_LT(compressed.size(), series.size() / 5);
  std::string page = Gunzip(compressed);
  EXPECT_EQ(page, "# TYPE failover_probe_success gauge\n" + series + "# EOF\n");

  auto text = NegotiateMetrics(Request("text/plain", ""), make());
  EXPECT_EQ(Drain(text), "# TYPE failover_probe_success gauge\n" + series);
}

}  // namespace
}  // namespace failover
