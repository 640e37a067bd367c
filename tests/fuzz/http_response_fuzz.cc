// libFuzzer target: an HTTP/1.1 response as the http probe reads it
// (HttpResponseReader, exporter/probers/http_exchange.h). The first byte picks the
// request (HEAD or not), the body limit, whether the body is kept and where the bytes are
// split between reads; the rest is what the server sent, then it closes. The reader may
// not crash, must give the same answer however the bytes are split (state, status,
// failure; and the body of a complete response), and must keep its promises: no more body than the
// limit, a final status of at least 200, a reason for every failure.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "exporter/probers/http_exchange.h"

namespace {

using failover::HttpResponseReader;

struct Outcome {
  HttpResponseReader::State state;
  int status;
  std::string body;
  size_t body_bytes;
  HttpResponseReader::Failure failure;
};

// Feeds `bytes` in pieces of `piece` bytes (all at once for 0), then the close.
Outcome Read(std::string_view bytes, size_t piece, bool head, size_t limit, bool keep) {
  HttpResponseReader r(head, limit, keep);
  HttpResponseReader::State s = HttpResponseReader::State::kMore;
  size_t step = piece == 0 ? bytes.size() : piece;
  for (size_t i = 0; i < bytes.size() && s == HttpResponseReader::State::kMore; i += step) {
    s = r.Feed(bytes.substr(i, step));
  }
  if (s == HttpResponseReader::State::kMore) s = r.Closed();
  if (s == HttpResponseReader::State::kMore) std::abort();  // the close ends every response
  if (s == HttpResponseReader::State::kError &&
      (r.failure() == HttpResponseReader::Failure::kNone || r.failure_text().empty())) {
    std::abort();
  }
  if (s == HttpResponseReader::State::kDone && r.status() < 200) std::abort();
  if (r.body_bytes() > limit) std::abort();
  if (keep ? r.body().size() != r.body_bytes() : !r.body().empty()) std::abort();
  return {s, r.status(), r.body(), r.body_bytes(), r.failure()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t opts = data[0];
  const bool head = (opts & 1) != 0;
  const bool keep = (opts & 2) != 0;
  const size_t limit = (opts & 4) != 0 ? 16 : 1 << 20;
  const size_t piece = 1 + (opts >> 3);  // 1..32 bytes a read
  // A copy of exactly the response's bytes, so ASan sees any read past them.
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  Outcome whole = Read(bytes, 0, head, limit, keep);
  Outcome pieces = Read(bytes, piece, head, limit, keep);
  if (whole.state != pieces.state || whole.status != pieces.status ||
      whole.failure != pieces.failure) {
    std::abort();
  }
  // A failed response's body is what came before the failure, which depends on the reads.
  if (whole.state == HttpResponseReader::State::kDone &&
      (whole.body != pieces.body || whole.body_bytes != pieces.body_bytes)) {
    std::abort();
  }
  return 0;
}
