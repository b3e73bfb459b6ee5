#include "judge/prometheus_client.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leakwatch::judge {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseBaseUrlTest, KeepsPathPrefixWithoutTrailingSlash) {
  absl::StatusOr<BaseUrl> url = ParseBaseUrl("http://mimir:8080/prometheus/");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme_host_port, "http://mimir:8080");
  EXPECT_EQ(url->path_prefix, "/prometheus");
}

TEST(ParseBaseUrlTest, NoPrefix) {
  absl::StatusOr<BaseUrl> url = ParseBaseUrl("https://prom.example.com");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme_host_port, "https://prom.example.com");
  EXPECT_EQ(url->path_prefix, "");
}

TEST(ParseBaseUrlTest, RejectsOtherSchemesQueriesAndCredentials) {
  EXPECT_THAT(ParseBaseUrl("ftp://x").status().message(), HasSubstr("not an http:// or https://"));
  EXPECT_THAT(ParseBaseUrl("127.0.0.1:9090").status().message(), HasSubstr("not an http://"));
  EXPECT_THAT(ParseBaseUrl("http://x:9090/?a=b").status().message(), HasSubstr("query"));
  EXPECT_THAT(ParseBaseUrl("http:///api").status().message(), HasSubstr("no host"));
  EXPECT_THAT(ParseBaseUrl("http://u:p@x").status().message(), HasSubstr("credentials"));
}

TEST(ParseHeaderTest, SplitsNameAndTrimmedValue) {
  auto h = ParseHeader("X-Scope-OrgID:  tenant-1 ");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->first, "X-Scope-OrgID");
  EXPECT_EQ(h->second, "tenant-1");
  auto colon_in_value = ParseHeader("X-A: b:c");
  ASSERT_TRUE(colon_in_value.ok());
  EXPECT_EQ(colon_in_value->second, "b:c");
}

TEST(ParseHeaderTest, RejectsMissingColonBadNameAndLineBreaks) {
  EXPECT_THAT(ParseHeader("X-Scope-OrgID tenant").status().message(), HasSubstr("no colon"));
  EXPECT_THAT(ParseHeader(": v").status().message(), HasSubstr("no name"));
  EXPECT_THAT(ParseHeader("X A: v").status().message(), HasSubstr("not allowed"));
  EXPECT_THAT(ParseHeader("X-A: v\r\nInjected: 1").status().message(), HasSubstr("line break"));
}

TEST(ParseSampleValueTest, NumbersNaNAndInfinities) {
  EXPECT_EQ(*ParseSampleValue("3"), 3);
  EXPECT_EQ(*ParseSampleValue("-1.5e+06"), -1.5e6);
  EXPECT_EQ(*ParseSampleValue("1e-3"), 1e-3);
  EXPECT_TRUE(std::isnan(*ParseSampleValue("NaN")));
  EXPECT_EQ(*ParseSampleValue("+Inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(*ParseSampleValue("-Inf"), -std::numeric_limits<double>::infinity());
}

TEST(ParseSampleValueTest, RejectsGarbage) {
  EXPECT_FALSE(ParseSampleValue("").ok());
  EXPECT_FALSE(ParseSampleValue("abc").ok());
  EXPECT_FALSE(ParseSampleValue("1.5x").ok());
  EXPECT_FALSE(ParseSampleValue(" 1").ok());
}

TEST(SplitRangeTest, EveryEvaluationTimeOnceAndNoPieceAboveTheLimit) {
  // 3 days at 15 s: 17,281 evaluation times, more than 11,000.
  const double start = 1'700'000'000, step = 15, end = start + 3 * 86400;
  std::vector<TimeRange> pieces = SplitRange(start, end, step, 11000);
  ASSERT_EQ(pieces.size(), 2u);
  double expected = start;
  int64_t total = 0;
  for (const TimeRange& p : pieces) {
    EXPECT_EQ(p.start, expected);
    const int64_t points = static_cast<int64_t>((p.end - p.start) / step) + 1;
    EXPECT_LE(points, 11000);
    total += points;
    expected = p.end + step;
  }
  EXPECT_EQ(total, 3 * 86400 / 15 + 1);
  EXPECT_EQ(pieces.back().end, end);
}

TEST(SplitRangeTest, ExactMultipleAndSmallRanges) {
  EXPECT_EQ(SplitRange(0, 9, 1, 5).size(), 2u);   // 10 points: 5 + 5
  EXPECT_EQ(SplitRange(0, 10, 1, 5).size(), 3u);  // 11 points: 5 + 5 + 1
  std::vector<TimeRange> one = SplitRange(100, 100, 60, 11000);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].start, 100);
  EXPECT_EQ(one[0].end, 100);
  EXPECT_TRUE(SplitRange(100, 99, 60, 11000).empty());
}

TEST(ParseMatrixResponseTest, DropsNaNAndInfinitiesAndKeepsLabels) {
  const char* body = R"({"status":"success","warnings":["partial"],"data":{"resultType":"matrix",
    "result":[{"metric":{"__name__":"leakwatch_stuck_tasks","job":"shop","site":"a.cc:1","op":"mutex"},
               "values":[[100,"1"],[160,"NaN"],[220,"+Inf"],[280,"-Inf"],[340,"2.5"]]},
              {"metric":{"job":"shop"},"values":[]}]}})";
  std::vector<std::string> warnings;
  auto matrix = ParseMatrixResponse(body, &warnings);
  ASSERT_TRUE(matrix.ok()) << matrix.status();
  ASSERT_EQ(matrix->size(), 2u);
  EXPECT_EQ((*matrix)[0].labels.at("site"), "a.cc:1");
  EXPECT_THAT((*matrix)[0].t, ElementsAre(100, 340));
  EXPECT_THAT((*matrix)[0].value, ElementsAre(1, 2.5));
  EXPECT_TRUE((*matrix)[1].t.empty());
  EXPECT_THAT(warnings, ElementsAre("partial"));
}

TEST(ParseMatrixResponseTest, SkipsFieldsItDoesNotKnow) {
  const char* body = R"({"status":"success","infos":["x"],"data":{"resultType":"matrix",
    "result":[{"metric":{"job":"a"},"histograms":[[1,{"count":"2","buckets":[[0,"1","2","3"]]}]],
               "values":[[60.5,"4"]],"extra":{"nested":[1,true,null]}}],
    "stats":{"timings":{"evalTotalTime":0.1}}}})";
  auto matrix = ParseMatrixResponse(body, nullptr);
  ASSERT_TRUE(matrix.ok()) << matrix.status();
  ASSERT_EQ(matrix->size(), 1u);
  EXPECT_THAT((*matrix)[0].t, ElementsAre(60.5));
  EXPECT_THAT((*matrix)[0].value, ElementsAre(4));
}

TEST(ParseMatrixResponseTest, EnvelopeErrorNamesTypeAndMessage) {
  auto r = ParseMatrixResponse(
      R"({"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries"})",
      nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_THAT(r.status().message(), HasSubstr("bad_data: exceeded maximum resolution"));
}

TEST(ParseMatrixResponseTest, TruncatedAndMalformedBodiesAreDataLoss) {
  for (
      const char* body :
      {R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2")",
       "<html>502 Bad Gateway</html>", "",
       R"({"status":"success","data":{"resultType":"vector","result":[]}})",
       R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,2]]}]}})",
       R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}})",
       R"({"data":{}})"}) {
    auto r = ParseMatrixResponse(body, nullptr);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_TRUE(absl::IsDataLoss(r.status())) << body << ": " << r.status();
  }
}

TEST(ParseSeriesResponseTest, LabelSets) {
  auto r = ParseSeriesResponse(
      R"({"status":"success","data":[{"__name__":"up","job":"a"},{"__name__":"up","job":"b"}]})",
      nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].at("job"), "b");
}

TEST(PrometheusClientTest, CreateChecksOptions) {
  ClientOptions options;
  options.base_url = "localhost:9090";
  EXPECT_FALSE(PrometheusClient::Create(options).ok());
  options.base_url = "http://localhost:9090";
  options.headers = {{"Bad Name", "x"}};
  EXPECT_FALSE(PrometheusClient::Create(options).ok());
  options.headers = {{"X-Scope-OrgID", "t"}};
  EXPECT_TRUE(PrometheusClient::Create(options).ok());
}

}  // namespace
}  // namespace leakwatch::judge
