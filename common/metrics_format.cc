#include "common/metrics_format.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace failover {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t i = s.find(sep);
    out.push_back(Trim(s.substr(0, i)));
    if (i == std::string_view::npos) return out;
    s.remove_prefix(i + 1);
  }
}

// One element of an Accept or Accept-Encoding header: "type;k=v;q=0.5".
struct Range {
  std::string name;
  std::string version;
  double q = 1;
};

std::vector<Range> ParseRanges(std::string_view header) {
  std::vector<Range> out;
  for (std::string_view item : Split(header, ',')) {
    if (item.empty()) continue;
    std::vector<std::string_view> parts = Split(item, ';');
    Range r;
    r.name = Lower(parts[0]);
    for (size_t i = 1; i < parts.size(); ++i) {
      size_t eq = parts[i].find('=');
      if (eq == std::string_view::npos) continue;
      std::string key = Lower(Trim(parts[i].substr(0, eq)));
      std::string_view value = Trim(parts[i].substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (key == "q") {
        r.q = std::strtod(std::string(value).c_str(), nullptr);
      } else if (key == "version") {
        r.version = std::string(value);
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// HELP text of the text format escapes \ and newline; OpenMetrics escapes " as well.
std::string EscapeHelpQuotes(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      out += text[i];
      out += text[++i];
    } else if (text[i] == '"') {
      out += "\\\"";
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string FormatSeconds(double seconds) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.3f", seconds);
  return buf;
}

// gzip (RFC 1952) of a body fed in parts.
class Gzip {
 public:
  Gzip() {
    // 15 window bits + 16: a gzip header and trailer instead of zlib's.
    ok_ = deflateInit2(&z_, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~Gzip() {
    if (ok_) deflateEnd(&z_);
  }
  Gzip(const Gzip&) = delete;
  Gzip& operator=(const Gzip&) = delete;

  void Feed(std::string_view in, std::string& out, bool finish) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    char buf[16384];
    int rc;
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof buf;
      rc = deflate(&z_, finish ? Z_FINISH : Z_NO_FLUSH);
      out.append(buf, sizeof buf - z_.avail_out);
    } while (z_.avail_out == 0 || (finish && rc == Z_OK));
  }

 private:
  z_stream z_{};
  bool ok_ = false;
};

}  // namespace

MetricsFormat NegotiateMetricsFormat(const std::string& accept,
                                     const std::string& accept_encoding) {
  MetricsFormat f;
  double om_q = 0, text_q = 0;
  for (const Range& r : ParseRanges(accept)) {
    if (r.name == "application/openmetrics-text" &&
        (r.version.empty() || r.version == "1.0.0" || r.version == "0.0.1")) {
      if (r.q > om_q) {
        om_q = r.q;
        f.openmetrics_version = r.version.empty() ? "1.0.0" : r.version;
      }
    } else if ((r.name == "text/plain" && (r.version.empty() || r.version == "0.0.4")) ||
               r.name == "text/*" || r.name == "*/*") {
      text_q = std::max(text_q, r.q);
    }
  }
  f.openmetrics = om_q > 0 && om_q >= text_q;
  double gzip_q = -1, any_q = -1;
  for (const Range& r : ParseRanges(accept_encoding)) {
    if (r.name == "gzip" || r.name == "x-gzip") gzip_q = std::max(gzip_q, r.q);
    if (r.name == "*") any_q = r.q;
  }
  f.gzip = gzip_q >= 0 ? gzip_q > 0 : any_q > 0;
  return f;
}

void OpenMetricsConverter::Feed(std::string_view text, std::string& out) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(text);
      return;
    }
    if (partial_.empty()) {
      Line(text.substr(0, nl), out);
    } else {
      partial_.append(text.substr(0, nl));
      std::string line = std::move(partial_);
      partial_.clear();
      Line(line, out);
    }
    text.remove_prefix(nl + 1);
  }
}

void OpenMetricsConverter::Finish(std::string& out) {
  if (!partial_.empty()) {
    std::string line = std::move(partial_);
    partial_.clear();
    Line(line, out);
  }
  FlushHelp(out);
  out += "# EOF\n";
}

void OpenMetricsConverter::FlushHelp(std::string& out) {
  if (pending_help_.empty()) return;
  out += EscapeHelpQuotes(pending_help_);
  out += '\n';
  pending_help_.clear();
}

void OpenMetricsConverter::Line(std::string_view line, std::string& out) {
  if (line.empty()) return;
  if (line.rfind("# HELP ", 0) == 0) {
    FlushHelp(out);
    pending_help_ = std::string(line);
    return;
  }
  if (line.rfind("# TYPE ", 0) == 0) {
    std::string_view rest = line.substr(7);
    size_t sp = rest.find(' ');
    std::string_view name = rest.substr(0, sp);
    std::string type = sp == std::string_view::npos ? "unknown" : std::string(rest.substr(sp + 1));
    std::string family(name);
    counter_ = false;
    if (type == "counter") {
      if (EndsWith(name, "_total")) {
        family = std::string(name.substr(0, name.size() - 6));
        counter_ = true;
      } else {
        type = "unknown";  // OpenMetrics counters' samples must end in _total
      }
    } else if (type == "untyped") {
      type = "unknown";
    }
    std::string help_prefix = "# HELP " + std::string(name) + " ";
    if (pending_help_.rfind(help_prefix, 0) == 0) {
      out += "# HELP " + family + " " +
             EscapeHelpQuotes(std::string_view(pending_help_).substr(help_prefix.size())) + "\n";
      pending_help_.clear();
    } else {
      FlushHelp(out);
    }
    out += "# TYPE " + family + " " + type + "\n";
    for (const char* unit : {"seconds", "bytes", "ratio"}) {
      if (EndsWith(family, std::string("_") + unit)) {
        out += "# UNIT " + family + " " + unit + "\n";
      }
    }
    family_ = family;
    family_created_ = counter_ && created_ ? created_(family_) : std::nullopt;
    return;
  }
  FlushHelp(out);
  if (line[0] == '#') return;  // other comments: OpenMetrics has none
  // A sample: name, optional {labels} (quoted values may hold '}' and ' '), value,
  // optional timestamp in milliseconds.
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  std::string_view name = line.substr(0, i);
  size_t labels_end = i;
  if (i < line.size() && line[i] == '{') {
    bool quoted = false;
    for (labels_end = i + 1; labels_end < line.size(); ++labels_end) {
      char c = line[labels_end];
      if (quoted && c == '\\') {
        ++labels_end;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && c == '}') {
        ++labels_end;
        break;
      }
    }
  }
  std::string_view labels = line.substr(i, labels_end - i);
  std::vector<std::string_view> fields;
  for (std::string_view f : Split(line.substr(std::min(labels_end, line.size())), ' ')) {
    if (!f.empty()) fields.push_back(f);
  }
  if (fields.empty()) return;  // not a sample the text format allows; nothing to convert
  out.append(name);
  out.append(labels);
  out += ' ';
  out.append(fields[0]);
  if (fields.size() > 1) {
    out += ' ';
    out += FormatSeconds(std::strtod(std::string(fields[1]).c_str(), nullptr) / 1000);
  }
  out += '\n';
  if (family_created_ && name.size() == family_.size() + 6 && EndsWith(name, "_total") &&
      name.substr(0, family_.size()) == family_) {
    out += family_ + "_created";
    out.append(labels);
    out += ' ' + FormatSeconds(*family_created_) + '\n';
  }
}

HttpServerResponse NegotiateMetrics(const HttpServerRequest& request, HttpServerResponse text,
                                    CreatedLookup created) {
  MetricsFormat f =
      NegotiateMetricsFormat(request.Header("accept"), request.Header("accept-encoding"));
  HttpServerResponse r = std::move(text);
  r.headers.emplace_back("Vary", "Accept, Accept-Encoding");
  if (f.openmetrics) {
    r.content_type =
        "application/openmetrics-text; version=" + f.openmetrics_version + "; charset=utf-8";
  }
  if (f.gzip) r.headers.emplace_back("Content-Encoding", "gzip");
  if (!f.openmetrics && !f.gzip) return r;
  bool streamed = static_cast<bool>(r.stream);

  struct State {
    std::function<bool(std::string&)> inner;
    std::optional<OpenMetricsConverter> om;
    std::optional<Gzip> gzip;
    bool done = false;
  };
  auto st = std::make_shared<State>();
  if (f.openmetrics) st->om.emplace(std::move(created));
  if (f.gzip) st->gzip.emplace();
  if (r.stream) {
    st->inner = std::move(r.stream);
  } else {
    st->inner = [body = std::move(r.body)](std::string& part) mutable {
      part = std::move(body);
      return false;
    };
    r.body.clear();
  }
  // Each call gives one non-empty part (gzip may swallow a small input whole) or ends.
  auto next = [st](std::string& part) {
    while (part.empty() && !st->done) {
      std::string raw;
      bool more = st->inner(raw);
      std::string converted;
      if (st->om) {
        st->om->Feed(raw, converted);
        if (!more) st->om->Finish(converted);
      } else {
        converted = std::move(raw);
      }
      if (st->gzip) {
        st->gzip->Feed(converted, part, !more);
      } else {
        part = std::move(converted);
      }
      if (!more) st->done = true;
    }
    return !st->done;
  };
  if (streamed) {
    r.stream = std::move(next);
  } else {
    // A small answer (the actuator's): converted whole, sent with Content-Length.
    std::string part;
    while (true) {
      std::string chunk;
      bool more = next(chunk);
      part += chunk;
      if (!more) break;
    }
    r.body = std::move(part);
  }
  return r;
}

}  // namespace failover
