// A string from a small vocabulary (a probe's region and kind): each distinct value is
// kept once for the whole process, and a value is one pointer to it. At 10,000 probes of
// a few regions and kinds that is 8 bytes a field instead of a 32-byte std::string each.
// Values are never freed: the vocabulary is what the configurations ever named.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace failover {

class InternedString {
 public:
  InternedString();                     // ""
  InternedString(std::string_view s);   // NOLINT(google-explicit-constructor): a string is one
  InternedString(const std::string& s)  // NOLINT(google-explicit-constructor)
      : InternedString(std::string_view(s)) {}
  InternedString(const char* s)  // NOLINT(google-explicit-constructor)
      : InternedString(std::string_view(s)) {}

  const std::string& str() const { return *s_; }
  operator const std::string&() const { return *s_; }  // NOLINT(google-explicit-constructor)
  bool empty() const { return s_->empty(); }
  size_t size() const { return s_->size(); }

  // One value, one object: comparing the pointers compares the strings.
  friend bool operator==(const InternedString& a, const InternedString& b) { return a.s_ == b.s_; }
  friend bool operator==(const InternedString& a, std::string_view b) { return *a.s_ == b; }
  friend bool operator==(const InternedString& a, const char* b) { return *a.s_ == b; }
  friend bool operator==(const InternedString& a, const std::string& b) { return *a.s_ == b; }
  friend std::ostream& operator<<(std::ostream& os, const InternedString& s) { return os << *s.s_; }

 private:
  const std::string* s_;
};

}  // namespace failover
