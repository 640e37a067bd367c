// One HTTP/1.1 exchange as the http probe makes it (exporter/probers/http.cc): the request
// it writes and an incremental reader of the response it gets back. No sockets here: the
// probe feeds the bytes it read, so this part is tested on its own.
//
// The response reader knows the three ways an HTTP/1.1 body ends (RFC 9112 section 6):
// Content-Length, chunked transfer coding, or the server closing the connection. It skips
// interim 1xx responses, ends a HEAD answer and a 204 or 304 at its header, and stops
// at `body_limit` body bytes (a Content-Length over the limit stops before the body).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace failover {

// The request: "METHOD target HTTP/1.1", then Host (unless `headers` has one), User-Agent
// and Accept (unless given), Connection: close, the given headers, `authorization` when
// not empty, and for a request with a body its Content-Length (and, as form clients send,
// Content-Type: application/x-www-form-urlencoded unless one is given).
std::string BuildHttpRequest(std::string_view method, std::string_view target,
                             std::string_view host,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::string_view authorization, bool send_body, std::string_view body);

class HttpResponseReader {
 public:
  enum class State { kMore, kDone, kError };
  // Why a response was not read in full; the probe maps each to its failure reason.
  enum class Failure {
    kNone,
    kEmpty,           // closed before the first byte
    kTruncated,       // closed inside the header or a body of known length
    kMalformed,       // not an HTTP/1.x response
    kHeaderTooLarge,  // the header is over kMaxHeaderBytes
    kBodyTooLarge,    // the body is over body_limit
  };
  static constexpr size_t kMaxHeaderBytes = 64 * 1024;

  // `head`: the request was HEAD (no body follows). `keep_body`: keep the body's bytes.
  HttpResponseReader(bool head, size_t body_limit, bool keep_body)
      : head_(head), body_limit_(body_limit), keep_body_(keep_body) {}

  // Bytes as they arrive. kMore: feed more; kDone: the response is complete (bytes after
  // it are ignored); kError: see failure().
  State Feed(std::string_view data);
  // The server closed the connection.
  State Closed();

  bool got_header() const { return status_ != 0; }
  int status() const { return status_; }
  const std::string& location() const { return location_; }
  const std::string& body() const { return body_; }
  size_t body_bytes() const { return received_; }
  Failure failure() const { return failure_; }
  const std::string& failure_text() const { return failure_text_; }

 private:
  enum class Phase {
    kHeader,
    kLength,
    kChunkSize,
    kChunkData,
    kChunkEnd,
    kTrailer,
    kUntilClose,
    kDone
  };
  State Fail(Failure f, std::string text);
  State ParseHeader(std::string_view head);
  State Body(std::string_view data, size_t* used);
  State AddBody(std::string_view data);

  bool head_;
  size_t body_limit_;
  bool keep_body_;
  Phase phase_ = Phase::kHeader;
  bool any_byte_ = false;
  std::string buf_;  // the header (or a chunk-size or trailer line) so far
  int status_ = 0;
  std::string location_;
  unsigned long long remaining_ = 0;  // of the Content-Length or the current chunk
  size_t received_ = 0;
  std::string body_;
  Failure failure_ = Failure::kNone;
  std::string failure_text_;
};

}  // namespace failover
