// The http probe's request writer and response reader (exporter/probers/http_exchange.h)
// on bytes alone: each way an HTTP/1.1 body can end, split anywhere between reads, and
// each way a response can be bad.
#include "exporter/probers/http_exchange.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace failover {
namespace {

using State = HttpResponseReader::State;
using Failure = HttpResponseReader::Failure;

// Feeds `bytes` in pieces of `piece` bytes; the state after the last piece (or the first
// that is not kMore).
State FeedInPieces(HttpResponseReader& r, const std::string& bytes, size_t piece) {
  State s = State::kMore;
  for (size_t i = 0; i < bytes.size() && s == State::kMore; i += piece) {
    s = r.Feed(std::string_view(bytes).substr(i, piece));
  }
  return s;
}

TEST(HttpRequestTest, WritesTheRequestLineHostAndOurHeaders) {
  std::string req = BuildHttpRequest("GET", "/healthz?x=1", "shop.test:8080", {}, "", false, "");
  EXPECT_EQ(req,
            "GET /healthz?x=1 HTTP/1.1\r\nHost: shop.test:8080\r\nUser-Agent: failover_exporter\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n");
}

TEST(HttpRequestTest, GivenHeadersReplaceOursAndABodyHasItsLength) {
  std::string req = BuildHttpRequest(
      "POST", "/", "a.test",
      {{"host", "b.test"}, {"Content-Type", "application/json"}, {"Connection", "keep-alive"}},
      "Bearer t", true, "{}");
  EXPECT_EQ(req.find("Host: a.test"), std::string::npos);
  EXPECT_NE(req.find("host: b.test\r\n"), std::string::npos);
  EXPECT_EQ(req.find("keep-alive"), std::string::npos) << "each run is one request";
  EXPECT_NE(req.find("Authorization: Bearer t\r\n"), std::string::npos);
  EXPECT_EQ(req.find("x-www-form-urlencoded"), std::string::npos);
  EXPECT_NE(req.find("Content-Length: 2\r\n\r\n{}"), std::string::npos);
}

TEST(HttpRequestTest, APostWithoutABodySaysSo) {
  std::string req = BuildHttpRequest("POST", "/", "a.test", {}, "", true, "");
  EXPECT_NE(req.find("Content-Type: application/x-www-form-urlencoded\r\n"), std::string::npos);
  EXPECT_NE(req.find("Content-Length: 0\r\n\r\n"), std::string::npos);
}

TEST(HttpResponseReaderTest, ContentLengthSplitAnywhere) {
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world";
  for (size_t piece = 1; piece <= resp.size(); ++piece) {
    HttpResponseReader r(false, 1024, true);
    ASSERT_EQ(FeedInPieces(r, resp, piece), State::kDone) << "pieces of " << piece;
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.body(), "hello world");
  }
}

TEST(HttpResponseReaderTest, ChunkedSplitAnywhereWithExtensionsAndTrailers) {
  const std::string resp =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n";
  for (size_t piece = 1; piece <= resp.size(); ++piece) {
    HttpResponseReader r(false, 1024, true);
    ASSERT_EQ(FeedInPieces(r, resp, piece), State::kDone) << "pieces of " << piece;
    EXPECT_EQ(r.body(), "hello 0123456789");
    EXPECT_EQ(r.body_bytes(), 16u);
  }
}

TEST(HttpResponseReaderTest, ABodyWithoutLengthEndsWhenTheServerCloses) {
  HttpResponseReader r(false, 1024, true);
  EXPECT_EQ(r.Feed("HTTP/1.0 200 OK\r\n\r\npart one, "), State::kMore);
  EXPECT_EQ(r.Feed("part two"), State::kMore);
  EXPECT_EQ(r.Closed(), State::kDone);
  EXPECT_EQ(r.body(), "part one, part two");
}

TEST(HttpResponseReaderTest, HeadAnd204And304HaveNoBody) {
  HttpResponseReader head(true, 1024, true);
  EXPECT_EQ(head.Feed("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"), State::kDone);
  HttpResponseReader no_content(false, 1024, true);
  EXPECT_EQ(no_content.Feed("HTTP/1.1 204 No Content\r\n\r\n"), State::kDone);
  HttpResponseReader not_modified(false, 1024, true);
  EXPECT_EQ(not_modified.Feed("HTTP/1.1 304 Not Modified\r\n\r\n"), State::kDone);
}

TEST(HttpResponseReaderTest, InterimResponsesAreSkipped) {
  HttpResponseReader r(false, 1024, true);
  EXPECT_EQ(r.Feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                   "HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n"),
            State::kDone);
  EXPECT_EQ(r.status(), 302);
  EXPECT_EQ(r.location(), "/next");
}

TEST(HttpResponseReaderTest, BareLineFeedsAreAccepted) {
  HttpResponseReader r(false, 1024, true);
  EXPECT_EQ(r.Feed("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"), State::kDone);
  EXPECT_EQ(r.body(), "ok");
}

TEST(HttpResponseReaderTest, TheBodyIsKeptOnlyWhenAsked) {
  HttpResponseReader r(false, 1024, false);
  EXPECT_EQ(r.Feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), State::kDone);
  EXPECT_EQ(r.body(), "");
  EXPECT_EQ(r.body_bytes(), 2u);
}

TEST(HttpResponseReaderTest, BodyLimit) {
  HttpResponseReader declared(false, 8, false);
  EXPECT_EQ(declared.Feed("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"), State::kError)
      << "a Content-Length over the limit stops before the body";
  EXPECT_EQ(declared.failure(), Failure::kBodyTooLarge);

  HttpResponseReader exact(false, 8, false);
  EXPECT_EQ(exact.Feed("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n12345678"), State::kDone);

  HttpResponseReader chunked(false, 8, true);
  EXPECT_EQ(FeedInPieces(chunked,
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "5\r\n12345\r\n5\r\n67890\r\n0\r\n\r\n",
                         3),
            State::kError);
  EXPECT_EQ(chunked.failure(), Failure::kBodyTooLarge);

  HttpResponseReader endless(false, 8, false);
  EXPECT_EQ(endless.Feed("HTTP/1.1 200 OK\r\n\r\n1234"), State::kMore);
  EXPECT_EQ(endless.Feed("56789"), State::kError);
  EXPECT_EQ(endless.failure(), Failure::kBodyTooLarge);
}

TEST(HttpResponseReaderTest, ClosedEarly) {
  HttpResponseReader nothing(false, 1024, false);
  EXPECT_EQ(nothing.Closed(), State::kError);
  EXPECT_EQ(nothing.failure(), Failure::kEmpty);

  HttpResponseReader in_header(false, 1024, false);
  EXPECT_EQ(in_header.Feed("HTTP/1.1 200 OK\r\nContent-"), State::kMore);
  EXPECT_EQ(in_header.Closed(), State::kError);
  EXPECT_EQ(in_header.failure(), Failure::kTruncated);

  HttpResponseReader in_body(false, 1024, false);
  EXPECT_EQ(in_body.Feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), State::kMore);
  EXPECT_EQ(in_body.Closed(), State::kError);
  EXPECT_EQ(in_body.failure(), Failure::kTruncated);

  HttpResponseReader in_chunks(false, 1024, false);
  EXPECT_EQ(in_chunks.Feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"),
            State::kMore);
  EXPECT_EQ(in_chunks.Closed(), State::kError);
  EXPECT_EQ(in_chunks.failure(), Failure::kTruncated);
}

TEST(HttpResponseReaderTest, MalformedResponses) {
  const std::vector<std::string> bad = {
      "SSH-2.0-OpenSSH_9.2\r\n\r\n",
      "HTTP/2 200\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
      "HTTP/1.1 101 Switching Protocols\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY\r\n",
  };
  for (const std::string& resp : bad) {
    HttpResponseReader r(false, 1024, true);
    EXPECT_EQ(r.Feed(resp), State::kError) << resp;
    EXPECT_EQ(r.failure(), Failure::kMalformed) << resp;
    EXPECT_FALSE(r.failure_text().empty());
  }
}

TEST(HttpResponseReaderTest, AHeaderOverTheLimitFails) {
  HttpResponseReader r(false, 1024, false);
  std::string big =
      "HTTP/1.1 200 OK\r\nX-Big: " + std::string(HttpResponseReader::kMaxHeaderBytes, 'a');
  EXPECT_EQ(FeedInPieces(r, big, 4096), State::kError);
  EXPECT_EQ(r.failure(), Failure::kHeaderTooLarge);
}

}  // namespace
}  // namespace failover
