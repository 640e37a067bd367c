#include "exporter/probers/http_exchange.h"

#include <strings.h>

#include <cctype>

namespace failover {
namespace {

bool HasHeader(const std::vector<std::pair<std::string, std::string>>& headers, const char* name) {
  for (const auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), name) == 0) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// A decimal number of at most 18 digits (so it cannot overflow), nothing else.
bool ParseDecimal(std::string_view s, unsigned long long& out) {
  if (s.empty() || s.size() > 18) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}

}  // namespace

std::string BuildHttpRequest(std::string_view method, std::string_view target,
                             std::string_view host,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::string_view authorization, bool send_body,
                             std::string_view body) {
  std::string out;
  out.reserve(128 + target.size() + body.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  if (!HasHeader(headers, "Host")) out.append("Host: ").append(host).append("\r\n");
  if (!HasHeader(headers, "User-Agent")) out.append("User-Agent: failover_exporter\r\n");
  if (!HasHeader(headers, "Accept")) out.append("Accept: */*\r\n");
  out.append("Connection: close\r\n");
  for (const auto& [k, v] : headers) {
    if (IEquals(k, "Connection") || IEquals(k, "Content-Length")) continue;  // ours
    out.append(k).append(": ").append(v).append("\r\n");
  }
  if (!authorization.empty()) out.append("Authorization: ").append(authorization).append("\r\n");
  if (send_body) {
    if (!HasHeader(headers, "Content-Type")) {
      out.append("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  out.append("\r\n");
  if (send_body) out.append(body);
  return out;
}

HttpResponseReader::State HttpResponseReader::Fail(Failure f, std::string text) {
  failure_ = f;
  failure_text_ = std::move(text);
  return State::kError;
}

HttpResponseReader::State HttpResponseReader::Feed(std::string_view data) {
  if (failure_ != Failure::kNone) return State::kError;
  if (!data.empty()) any_byte_ = true;
  std::string owned;
  while (true) {
    if (phase_ == Phase::kDone) return State::kDone;
    if (phase_ != Phase::kHeader) {
      size_t used = 0;
      State s = Body(data, &used);
      if (s != State::kMore) return s;
      data.remove_prefix(used);
      if (data.empty() && phase_ != Phase::kDone) return State::kMore;
      continue;
    }
    // The header ends at the first empty line (CRLF CRLF, or bare LFs as lenient clients
    // accept them).
    size_t before = buf_.size();
    buf_.append(data);
    size_t end = std::string::npos, body_at = 0;
    for (size_t i = before > 3 ? before - 3 : 0; i < buf_.size(); ++i) {
      if (buf_[i] != '\n') continue;
      if (i + 1 < buf_.size() && buf_[i + 1] == '\n') {
        end = i + 1;
        body_at = i + 2;
        break;
      }
      if (i + 2 < buf_.size() && buf_[i + 1] == '\r' && buf_[i + 2] == '\n') {
        end = i + 1;
        body_at = i + 3;
        break;
      }
    }
    if (end == std::string::npos) {
      if (buf_.size() > kMaxHeaderBytes) {
        return Fail(Failure::kHeaderTooLarge, "the response header is larger than " +
                                                  std::to_string(kMaxHeaderBytes) + " bytes");
      }
      return State::kMore;
    }
    if (end > kMaxHeaderBytes) {
      return Fail(Failure::kHeaderTooLarge, "the response header is larger than " +
                                                std::to_string(kMaxHeaderBytes) + " bytes");
    }
    std::string head = buf_.substr(0, end);
    owned = buf_.substr(body_at);  // body bytes, or the next response after a 1xx
    buf_.clear();
    State s = ParseHeader(head);
    if (s == State::kError) return s;
    data = owned;
    if (data.empty() && phase_ != Phase::kDone) return State::kMore;
  }
}

HttpResponseReader::State HttpResponseReader::ParseHeader(std::string_view head) {
  size_t eol = head.find('\n');
  std::string_view line = Trim(head.substr(0, eol));
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ' ||
      !std::isdigit(static_cast<unsigned char>(line[9])) ||
      !std::isdigit(static_cast<unsigned char>(line[10])) ||
      !std::isdigit(static_cast<unsigned char>(line[11])) ||
      (line.size() > 12 && line[12] != ' ')) {
    std::string shown(line.substr(0, 40));
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
    }
    return Fail(Failure::kMalformed, "not an HTTP/1.x response: \"" + shown + "\"");
  }
  int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (status < 100) return Fail(Failure::kMalformed, "status code " + std::to_string(status));
  bool chunked = false, has_length = false;
  unsigned long long length = 0;
  std::string location;
  size_t pos = eol == std::string_view::npos ? head.size() : eol + 1;
  while (pos < head.size()) {
    size_t next = head.find('\n', pos);
    if (next == std::string_view::npos) next = head.size();
    std::string_view h = Trim(head.substr(pos, next - pos));
    pos = next + 1;
    if (h.empty()) continue;
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Fail(Failure::kMalformed, "a header line without a name and ':'");
    }
    std::string_view name = h.substr(0, colon), value = Trim(h.substr(colon + 1));
    if (IEquals(name, "Content-Length")) {
      unsigned long long n = 0;
      if (!ParseDecimal(value, n) || (has_length && n != length)) {
        return Fail(Failure::kMalformed,
                    "invalid Content-Length \"" + std::string(value.substr(0, 40)) + "\"");
      }
      has_length = true;
      length = n;
    } else if (IEquals(name, "Transfer-Encoding")) {
      // chunked must be the last coding (RFC 9112 section 6.3); others are not decoded.
      size_t comma = value.rfind(',');
      std::string_view last =
          Trim(comma == std::string_view::npos ? value : value.substr(comma + 1));
      chunked = IEquals(last, "chunked");
      if (!chunked) {
        return Fail(Failure::kMalformed,
                    "unsupported Transfer-Encoding \"" + std::string(value.substr(0, 40)) + "\"");
      }
    } else if (IEquals(name, "Location")) {
      location.assign(value);
    }
  }
  if (status < 200) {
    if (status == 101) return Fail(Failure::kMalformed, "the server switched protocols (101)");
    return State::kMore;  // an interim response: the phase stays kHeader for the real one
  }
  status_ = status;
  location_ = std::move(location);
  if (head_ || status == 204 || status == 304) {
    phase_ = Phase::kDone;
  } else if (chunked) {
    phase_ = Phase::kChunkSize;
  } else if (has_length) {
    if (length > body_limit_) {
      return Fail(Failure::kBodyTooLarge, "Content-Length " + std::to_string(length));
    }
    remaining_ = length;
    phase_ = length == 0 ? Phase::kDone : Phase::kLength;
  } else {
    phase_ = Phase::kUntilClose;
  }
  return phase_ == Phase::kDone ? State::kDone : State::kMore;
}

HttpResponseReader::State HttpResponseReader::AddBody(std::string_view data) {
  if (data.size() > body_limit_ - received_) {
    return Fail(Failure::kBodyTooLarge, "over " + std::to_string(body_limit_) + " bytes");
  }
  received_ += data.size();
  if (keep_body_) body_.append(data);
  return State::kMore;
}

HttpResponseReader::State HttpResponseReader::Body(std::string_view data, size_t* used) {
  *used = 0;
  while (*used < data.size() && phase_ != Phase::kDone) {
    std::string_view rest = data.substr(*used);
    switch (phase_) {
      case Phase::kLength:
      case Phase::kChunkData: {
        size_t n = rest.size() < remaining_ ? rest.size() : static_cast<size_t>(remaining_);
        if (AddBody(rest.substr(0, n)) == State::kError) return State::kError;
        remaining_ -= n;
        *used += n;
        if (remaining_ == 0) phase_ = phase_ == Phase::kLength ? Phase::kDone : Phase::kChunkEnd;
        break;
      }
      case Phase::kUntilClose:
        if (AddBody(rest) == State::kError) return State::kError;
        *used += rest.size();
        break;
      case Phase::kChunkSize:
      case Phase::kChunkEnd:
      case Phase::kTrailer: {
        size_t nl = rest.find('\n');
        size_t take = nl == std::string_view::npos ? rest.size() : nl + 1;
        buf_.append(rest.substr(0, take));
        *used += take;
        if (buf_.size() > 4096) return Fail(Failure::kMalformed, "a chunk line over 4096 bytes");
        if (nl == std::string_view::npos) break;
        std::string_view line = Trim(std::string_view(buf_).substr(0, buf_.size() - 1));
        if (phase_ == Phase::kChunkEnd) {
          if (!line.empty()) return Fail(Failure::kMalformed, "no CRLF after a chunk");
          phase_ = Phase::kChunkSize;
        } else if (phase_ == Phase::kTrailer) {
          if (line.empty()) phase_ = Phase::kDone;
        } else {
          std::string_view hex = Trim(line.substr(0, line.find(';')));
          unsigned long long n = 0;
          if (hex.empty() || hex.size() > 15) {
            return Fail(Failure::kMalformed, "invalid chunk size");
          }
          for (char c : hex) {
            int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                    : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                                : -1;
            if (d < 0) return Fail(Failure::kMalformed, "invalid chunk size");
            n = n * 16 + static_cast<unsigned>(d);
          }
          if (n == 0) {
            phase_ = Phase::kTrailer;
          } else {
            remaining_ = n;
            phase_ = Phase::kChunkData;
          }
        }
        buf_.clear();
        break;
      }
      case Phase::kHeader:
      case Phase::kDone:
        break;
    }
  }
  return phase_ == Phase::kDone ? State::kDone : State::kMore;
}

HttpResponseReader::State HttpResponseReader::Closed() {
  if (failure_ != Failure::kNone) return State::kError;
  if (phase_ == Phase::kDone) return State::kDone;
  if (phase_ == Phase::kUntilClose) {
    phase_ = Phase::kDone;
    return State::kDone;
  }
  if (!any_byte_) return Fail(Failure::kEmpty, "the server closed the connection without a reply");
  if (phase_ == Phase::kHeader) {
    return Fail(Failure::kTruncated, "the server closed the connection inside the header");
  }
  return Fail(Failure::kTruncated, "the server closed the connection before the body's end");
}

}  // namespace failover
