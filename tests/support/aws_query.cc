#include "tests/support/aws_query.h"

#include "common/xml.h"

namespace failover::testing {
namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string FormDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out += static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseAwsForm(std::string_view body) {
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view part = body.substr(0, amp);
    size_t eq = part.find('=');
    if (!part.empty()) {
      out[FormDecode(part.substr(0, eq))] =
          eq == std::string_view::npos ? "" : FormDecode(part.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return out;
}

HttpServerResponse AwsXml(int status, std::string body) {
  HttpServerResponse r;
  r.status = status;
  r.content_type = "text/xml";
  r.body = "<?xml version=\"1.0\"?>\n" + std::move(body);
  return r;
}

HttpServerResponse AwsErrorXml(int status, std::string_view ns, const std::string& code,
                               const std::string& message, std::string_view type,
                               std::string_view request_id) {
  return AwsXml(status, "<ErrorResponse xmlns=\"" + std::string(ns) + "\"><Error><Type>" +
                            std::string(type) + "</Type><Code>" + code + "</Code><Message>" +
                            XmlEscape(message) + "</Message></Error><RequestId>" +
                            std::string(request_id) + "</RequestId></ErrorResponse>");
}

}  // namespace failover::testing
