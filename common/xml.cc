#include "common/xml.h"

#include <cstdlib>

#include "common/encoding.h"

namespace failover {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  Result<XmlElement> Document() {
    SkipMisc();
    if (!Peek("<")) return Fail("expected the root element");
    XmlElement root;
    if (auto s = Element(root, 0); !s) return s.error();
    SkipMisc();
    if (pos_ != in_.size()) return Fail("content after the root element");
    return root;
  }

 private:
  Error Fail(const std::string& what) const {
    return Error::Invalid("XML: " + what + " at byte " + std::to_string(pos_));
  }
  bool Peek(std::string_view s) const { return in_.substr(pos_, s.size()) == s; }
  void SkipSpace() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }
  // Whitespace, comments, processing instructions (the declaration) and a DOCTYPE line.
  void SkipMisc() {
    for (;;) {
      SkipSpace();
      if (Peek("<?")) {
        size_t e = in_.find("?>", pos_);
        pos_ = e == std::string_view::npos ? in_.size() : e + 2;
      } else if (Peek("<!--")) {
        size_t e = in_.find("-->", pos_);
        pos_ = e == std::string_view::npos ? in_.size() : e + 3;
      } else if (Peek("<!DOCTYPE")) {
        size_t e = in_.find('>', pos_);
        pos_ = e == std::string_view::npos ? in_.size() : e + 1;
      } else {
        return;
      }
    }
  }
  static bool NameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':' || static_cast<unsigned char>(c) >= 0x80;
  }
  std::string Name() {
    size_t start = pos_;
    while (pos_ < in_.size() && NameChar(in_[pos_])) ++pos_;
    return std::string(in_.substr(start, pos_ - start));
  }
  static std::string Local(const std::string& name) {
    size_t colon = name.find(':');
    return colon == std::string::npos ? name : name.substr(colon + 1);
  }
  static void AppendUtf8(std::string& out, unsigned long cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  // Character data up to `stop`, with references resolved.
  Status Chars(std::string& out, char stop) {
    while (pos_ < in_.size() && in_[pos_] != stop) {
      char c = in_[pos_];
      if (c == '<') return Fail("'<' in an attribute value");
      if (c != '&') {
        out += c;
        ++pos_;
        continue;
      }
      size_t semi = in_.find(';', pos_);
      if (semi == std::string_view::npos || semi - pos_ > 12) return Fail("bad reference");
      std::string_view ref = in_.substr(pos_ + 1, semi - pos_ - 1);
      if (ref == "lt") {
        out += '<';
      } else if (ref == "gt") {
        out += '>';
      } else if (ref == "amp") {
        out += '&';
      } else if (ref == "quot") {
        out += '"';
      } else if (ref == "apos") {
        out += '\'';
      } else if (ref.size() > 1 && ref[0] == '#') {
        std::string digits(ref.substr(ref[1] == 'x' ? 2 : 1));
        char* end = nullptr;
        unsigned long cp = std::strtoul(digits.c_str(), &end, ref[1] == 'x' ? 16 : 10);
        if (digits.empty() || *end != '\0' || cp == 0 || cp > 0x10FFFF) {
          return Fail("bad character reference");
        }
        AppendUtf8(out, cp);
      } else {
        return Fail("unknown entity &" + std::string(ref) + ";");
      }
      pos_ = semi + 1;
    }
    return {};
  }
  Status Element(XmlElement& el, int depth) {
    if (depth > 64) return Fail("elements nested too deeply");
    ++pos_;  // '<'
    std::string name = Name();
    if (name.empty()) return Fail("expected an element name");
    el.name = Local(name);
    // Attributes.
    for (;;) {
      SkipSpace();
      if (Peek("/>")) {
        pos_ += 2;
        return {};
      }
      if (Peek(">")) {
        ++pos_;
        break;
      }
      if (Name().empty()) return Fail("expected an attribute name in <" + name + ">");
      SkipSpace();
      if (!Peek("=")) return Fail("expected '=' after an attribute name");
      ++pos_;
      SkipSpace();
      if (pos_ >= in_.size() || (in_[pos_] != '"' && in_[pos_] != '\'')) {
        return Fail("expected a quoted attribute value");
      }
      char quote = in_[pos_++];
      std::string ignored;
      if (auto s = Chars(ignored, quote); !s) return s;
      if (pos_ >= in_.size()) return Fail("unterminated attribute value");
      ++pos_;
    }
    // Content.
    for (;;) {
      if (pos_ >= in_.size()) return Fail("unterminated element <" + name + ">");
      if (Peek("</")) {
        pos_ += 2;
        std::string end = Name();
        if (end != name) return Fail("</" + end + "> closes <" + name + ">");
        SkipSpace();
        if (!Peek(">")) return Fail("expected '>'");
        ++pos_;
        return {};
      }
      if (Peek("<!--")) {
        size_t e = in_.find("-->", pos_);
        if (e == std::string_view::npos) return Fail("unterminated comment");
        pos_ = e + 3;
      } else if (Peek("<![CDATA[")) {
        size_t e = in_.find("]]>", pos_);
        if (e == std::string_view::npos) return Fail("unterminated CDATA section");
        el.text.append(in_.substr(pos_ + 9, e - pos_ - 9));
        pos_ = e + 3;
      } else if (Peek("<?")) {
        size_t e = in_.find("?>", pos_);
        if (e == std::string_view::npos) return Fail("unterminated processing instruction");
        pos_ = e + 2;
      } else if (Peek("<")) {
        el.children.emplace_back();
        if (auto s = Element(el.children.back(), depth + 1); !s) return s;
      } else {
        // Text up to the next markup.
        size_t lt = in_.find('<', pos_);
        size_t end = lt == std::string_view::npos ? in_.size() : lt;
        Parser sub(in_.substr(0, end));
        sub.pos_ = pos_;
        if (auto s = sub.Chars(el.text, '<'); !s) return s;
        pos_ = end;
      }
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

const XmlElement* XmlElement::Child(std::string_view child) const {
  for (const auto& c : children) {
    if (c.name == child) return &c;
  }
  return nullptr;
}

std::vector<const XmlElement*> XmlElement::Children(std::string_view child) const {
  std::vector<const XmlElement*> out;
  for (const auto& c : children) {
    if (c.name == child) out.push_back(&c);
  }
  return out;
}

std::string XmlElement::Text(std::string_view path) const {
  const XmlElement* e = this;
  while (!path.empty() && e != nullptr) {
    size_t slash = path.find('/');
    e = e->Child(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return e == nullptr ? "" : e->text;
}

const XmlElement* XmlElement::Find(std::string_view n) const {
  for (const auto& c : children) {
    if (c.name == n) return &c;
    if (const XmlElement* f = c.Find(n)) return f;
  }
  return nullptr;
}

Result<XmlElement> ParseXml(std::string_view doc) { return Parser(doc).Document(); }

std::string XmlEscape(std::string_view s) { return EscapeMarkup(s, "&apos;"); }

}  // namespace failover
