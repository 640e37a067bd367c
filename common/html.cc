#include "common/html.h"

#include "common/encoding.h"

namespace failover {

std::string HtmlEscape(const std::string& s) {
  // Control characters (a step's message may quote a command's output, escape sequences
  // and all) are shown as U+FFFD, never sent raw: C0 controls but tab and newline, DEL,
  // and the C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F).
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  std::string clean;
  clean.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
      clean += kReplacement;
    } else if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
      clean += kReplacement;
      ++i;
    } else {
      clean += s[i];
    }
  }
  return EscapeMarkup(clean, "&#39;");
}

std::string LiveRefreshScript(int interval_ms, bool stamp) {
  std::string js =
      "<script>(function(){var r=document.getElementById('live');if(!r)return;"
      "setInterval(function(){if(document.hidden)return;"
      "fetch(location.href,{credentials:'same-origin',cache:'no-store'}).then(function(x){"
      "return x.ok?x.text():null}).then(function(t){if(!t)return;var n=new DOMParser()"
      ".parseFromString(t,'text/html').getElementById('live');if(n&&n.innerHTML!==r.innerHTML)"
      "r.innerHTML=n.innerHTML";
  if (stamp) {
    js +=
        ";var s=document.getElementById('refreshed');if(s)s.textContent="
        "new Date().toISOString().substring(11,19)+'Z'";
  }
  return js + "}).catch(function(){})}," + std::to_string(interval_ms) + ")})();</script>";
}

}  // namespace failover
