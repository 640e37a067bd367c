#include "actuator/template.h"

#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/yaml.h"

namespace failover {
namespace {

bool ValidPath(const std::string& path, std::string* why) {
  if (path == "runbook" || path == "execution_id") return true;
  for (const char* root : {"labels.", "annotations."}) {
    std::string r = root;
    if (path.rfind(r, 0) == 0) {
      if (path.size() == r.size()) {
        *why = "\"" + path + "\" needs a name after the dot";
        return false;
      }
      return true;
    }
  }
  *why = "unknown variable \"" + path +
         "\" (use labels.<name>, annotations.<name>, runbook or execution_id)";
  return false;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}

void AppendHex(std::string& out, const char* prefix, unsigned v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, digits, v);
  out += buf;
}

// Length of the valid UTF-8 sequence at s[i], 0 when the bytes there are not UTF-8.
size_t Utf8Length(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t len = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
  if (len == 0 || i + len > s.size()) return 0;
  if (len == 2 && c < 0xC2) return 0;  // overlong
  for (size_t k = 1; k < len; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return len;
}

// Escapes `value` character by character: the characters in `backslashed` get a
// backslash before them; \n, \r and \t are written so; other control bytes are
// `hex_prefix` and `hex_digits` hex digits; a byte that is not UTF-8 becomes `invalid`, or
// when that is null, `hex_prefix` and its value in hex; the rest stays as it is.
std::string EscapeText(std::string_view value, std::string_view backslashed, const char* hex_prefix,
                       int hex_digits, const char* invalid) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size();) {
    size_t len = Utf8Length(value, i);
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (len == 0) {
      if (invalid != nullptr) {
        out += invalid;
      } else {
        AppendHex(out, hex_prefix, c, hex_digits);
      }
      ++i;
      continue;
    }
    if (backslashed.find(static_cast<char>(c)) != std::string_view::npos) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      AppendHex(out, hex_prefix, c, hex_digits);
    } else {
      out.append(value.substr(i, len));
    }
    i += len;
  }
  return out;
}

// A value as it appears in an error message: quoted, escaped, at most ~60 bytes.
std::string Shown(std::string_view value) {
  bool cut = value.size() > 60;
  std::string out = "\"" + JsonStringEscape(value.substr(0, cut ? 60 : value.size())) + "\"";
  return cut ? out + "..." : out;
}

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string PercentEncode(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (IsUnreserved(c)) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string JsonStringEscape(std::string_view value) {
  return EscapeText(value, "\"\\", "\\u", 4, "\\ufffd");
}

std::string PromqlStringEscape(std::string_view value, char quote) {
  // An invalid byte as PromQL's \xHH: the byte itself, never a quote.
  const char backslashed[] = {'\\', quote};
  return EscapeText(value, std::string_view(backslashed, 2), "\\x", 2, nullptr);
}

std::string RegexQuote(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

Status CheckDnsLabel(std::string_view value) {
  if (value.empty()) return Error::Invalid("is empty, not a DNS label");
  if (value.size() > 63) return Error::Invalid("is longer than a DNS label (63 bytes)");
  for (unsigned char c : value) {
    if (c == '.') {
      return Error::Invalid(
          "contains '.': a value stands for one DNS label and cannot reach another name");
    }
    if (std::isalnum(c) == 0 && c != '-' && c != '_') {
      return Error::Invalid("is not a DNS label (letters, digits, '-' and '_' only)");
    }
  }
  if (value.front() == '-' || value.back() == '-') {
    return Error::Invalid("is not a DNS label (it starts or ends with '-')");
  }
  return {};
}

Result<Template> Template::Parse(std::string_view text) {
  Template t;
  t.source_ = std::string(text);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.parts_.push_back({false, std::string(text.substr(pos)), nullptr});
      break;
    }
    if (open > pos) t.parts_.push_back({false, std::string(text.substr(pos, open - pos)), nullptr});
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return Error::Invalid("template \"" + t.source_ + "\": \"{{\" at offset " +
                            std::to_string(open) + " is not closed by \"}}\"");
    }
    std::string path = Trim(text.substr(open + 2, close - open - 2));
    if (path.empty()) return Error::Invalid("template \"" + t.source_ + "\": empty \"{{ }}\"");
    std::string why;
    if (!ValidPath(path, &why)) return Error::Invalid("template \"" + t.source_ + "\": " + why);
    t.parts_.push_back({true, path, nullptr});
    pos = close + 2;
  }
  return t;
}

bool Template::has_variables() const {
  for (const Part& p : parts_) {
    if (p.is_var) return true;
  }
  return false;
}

Result<std::string> Template::Render(const TemplateVars& vars) const {
  std::string out;
  for (const Part& p : parts_) {
    if (!p.is_var) {
      out += p.text;
      continue;
    }
    std::string_view value;
    if (p.text == "runbook") {
      value = vars.runbook;
    } else if (p.text == "execution_id") {
      value = vars.execution_id;
    } else {
      bool is_label = p.text.rfind("labels.", 0) == 0;
      const LabelSet& set = is_label ? vars.labels : vars.annotations;
      std::string key = p.text.substr(is_label ? 7 : 12);
      auto it = set.find(key);
      if (it == set.end()) {
        return Error::Invalid("template \"" + source_ + "\": the alert has no " +
                              (is_label ? "label" : "annotation") + " \"" + key + "\"");
      }
      value = it->second;
    }
    if (!p.escape) {
      out += value;
      continue;
    }
    auto e = p.escape(value);
    if (!e) {
      return Error::Invalid("template \"" + source_ + "\": " + p.text + " = " + Shown(value) + " " +
                            e.error().message);
    }
    out += *e;
  }
  return out;
}

namespace {

Result<std::string> HostPart(std::string_view v) {
  if (v.empty()) return Error::Invalid("is empty: the URL would have no host");
  for (unsigned char c : v) {
    if (std::isalnum(c) == 0 && c != '.' && c != '-' && c != '_') {
      return Error::Invalid(
          "cannot stand in the URL's host (letters, digits, '.', '-' and '_' only)");
    }
  }
  return std::string(v);
}

Result<std::string> PathPart(std::string_view v) {
  if (v == "." || v == "..") {
    return Error::Invalid("would be a dot segment of the URL path and change the path");
  }
  return PercentEncode(v);  // '/' becomes %2F: the value stays inside its segment
}

Result<std::string> QueryPart(std::string_view v) { return PercentEncode(v); }

Result<std::string> JsonPart(std::string_view v) { return JsonStringEscape(v); }

Result<std::string> HeaderPart(std::string_view v) {
  for (unsigned char c : v) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return Error::Invalid(
          "contains a control character (CR, LF, NUL, ...) that would split or corrupt the "
          "header");
    }
  }
  return std::string(v);
}

Result<std::string> DnsPart(std::string_view v) {
  if (auto s = CheckDnsLabel(v); !s) return s.error();
  return std::string(v);
}

}  // namespace

Result<Template> Template::FromYaml(const YamlNode& node) {
  auto s = node.AsString();
  if (!s) return s.error();
  auto t = Parse(*s);
  if (!t) return node.Fail(t.error().message);
  return *t;
}

Status Template::SetContext(TemplateContext context) {
  context_ = context;
  auto where = [&](const Part& p) { return "{{" + p.text + "}}"; };
  auto fail = [&](const std::string& why) {
    return Error::Invalid("template \"" + source_ + "\": " + why);
  };
  switch (context) {
    case TemplateContext::kText:
      for (Part& p : parts_) p.escape = nullptr;
      return {};
    case TemplateContext::kForm:
      for (Part& p : parts_) p.escape = p.is_var ? Escaper(QueryPart) : nullptr;
      return {};
    case TemplateContext::kHeader:
      for (Part& p : parts_) p.escape = p.is_var ? Escaper(HeaderPart) : nullptr;
      return {};
    case TemplateContext::kDnsName:
      for (Part& p : parts_) p.escape = p.is_var ? Escaper(DnsPart) : nullptr;
      return {};
    case TemplateContext::kUrl: {
      // The scheme and "://" are literal; then authority, path, query, fragment.
      if (parts_.empty() || parts_[0].is_var || parts_[0].text.find("://") == std::string::npos) {
        return fail(
            "the url must start with a literal scheme (http:// or https://); a placeholder "
            "cannot choose it");
      }
      enum { kAuthority, kPath, kQuery, kFragment } state = kAuthority;
      bool first = true;
      for (Part& p : parts_) {
        if (p.is_var) {
          p.escape = state == kAuthority ? Escaper(HostPart)
                     : state == kPath    ? Escaper(PathPart)
                                         : Escaper(QueryPart);
          continue;
        }
        size_t i = first ? p.text.find("://") + 3 : 0;
        first = false;
        for (; i < p.text.size(); ++i) {
          char c = p.text[i];
          if (c == '#') {
            state = kFragment;
          } else if (c == '?' && state != kFragment) {
            state = kQuery;
          } else if (c == '/' && state == kAuthority) {
            state = kPath;
          }
        }
      }
      return {};
    }
    case TemplateContext::kJson: {
      bool in_string = false;
      for (Part& p : parts_) {
        if (p.is_var) {
          if (!in_string) {
            return fail(where(p) + " stands outside a JSON string; write it inside quotes (\"" +
                        where(p) + "\"): a value is always sent as a JSON string");
          }
          p.escape = JsonPart;
          continue;
        }
        for (size_t i = 0; i < p.text.size(); ++i) {
          if (in_string && p.text[i] == '\\') {
            ++i;
          } else if (p.text[i] == '"') {
            in_string = !in_string;
          }
        }
      }
      std::string skeleton;  // every placeholder as an empty string
      for (const Part& p : parts_) {
        if (!p.is_var) skeleton += p.text;
      }
      nlohmann::json doc = nlohmann::json::parse(skeleton, nullptr, /*allow_exceptions=*/false);
      if (doc.is_discarded()) {
        return fail("is not valid JSON (read with every placeholder as an empty string)");
      }
      return {};
    }
    case TemplateContext::kPromql: {
      // States of PromQL's lexer that matter here: code, "...", '...', `...`, # comment.
      enum { kCode, kDouble, kSingle, kRaw, kComment } state = kCode;
      bool regex = false;     // the open string follows =~ or !~
      std::string code_tail;  // the code before the open string, for the matcher
      for (Part& p : parts_) {
        if (p.is_var) {
          if (state == kDouble || state == kSingle) {
            char q = state == kDouble ? '"' : '\'';
            if (regex) {
              p.escape = [q](std::string_view v) -> Result<std::string> {
                return PromqlStringEscape(RegexQuote(v), q);
              };
            } else {
              p.escape = [q](std::string_view v) -> Result<std::string> {
                return PromqlStringEscape(v, q);
              };
            }
            continue;
          }
          if (state == kRaw) {
            return fail(where(p) +
                        " stands in a `raw string`, where a value cannot be escaped; use "
                        "double quotes");
          }
          return fail(where(p) +
                      " stands outside a PromQL string literal; write it inside double "
                      "quotes, e.g. up{region=\"" +
                      where(p) + "\"}: a value is only ever a string");
        }
        const std::string& t = p.text;
        for (size_t i = 0; i < t.size(); ++i) {
          char c = t[i];
          switch (state) {
            case kCode:
              if (c == '"' || c == '\'' || c == '`') {
                size_t e = code_tail.find_last_not_of(" \t\r\n");
                regex = e != std::string::npos && e >= 1 && code_tail[e] == '~' &&
                        (code_tail[e - 1] == '=' || code_tail[e - 1] == '!');
                state = c == '"' ? kDouble : c == '\'' ? kSingle : kRaw;
                code_tail.clear();
              } else if (c == '#') {
                state = kComment;
              } else {
                code_tail += c;
              }
              break;
            case kDouble:
            case kSingle:
              if (c == '\\') {
                ++i;
              } else if (c == (state == kDouble ? '"' : '\'')) {
                state = kCode;
              }
              break;
            case kRaw:
              if (c == '`') state = kCode;
              break;
            case kComment:
              if (c == '\n') state = kCode;
              break;
          }
        }
      }
      return {};
    }
  }
  return {};
}

}  // namespace failover
