#include "exporter/curl_multi.h"

#include <sys/epoll.h>

#include <algorithm>

#include "common/http_client.h"

namespace failover {

CurlMulti::CurlMulti(EventLoop& loop) : loop_(loop) {}

CURLM* CurlMulti::Multi() {
  if (multi_ != nullptr) return multi_;
  // libcurl (and with it OpenSSL) is initialised by the first probe that needs it: a
  // configuration of TCP-to-an-address and DNS probes never pays for it.
  InitCurl();
  multi_ = curl_multi_init();
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  return multi_;
}

CurlMulti::~CurlMulti() {
  for (auto& [easy, done] : done_) {
    curl_multi_remove_handle(multi_, easy);
    curl_easy_cleanup(easy);
  }
  for (CURL* h : free_) curl_easy_cleanup(h);
  if (timer_ != 0) loop_.CancelTimer(timer_);
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
}

CURL* CurlMulti::Acquire() {
  Multi();
  if (free_.empty()) return curl_easy_init();
  CURL* h = free_.back();
  free_.pop_back();
  free_low_ = std::min(free_low_, free_.size());
  return h;
}

void CurlMulti::Release(CURL* easy) {
  if (free_.size() >= kMaxFree) {
    curl_easy_cleanup(easy);
  } else {
    curl_easy_reset(easy);
    free_.push_back(easy);
  }
  Trim();
}

void CurlMulti::Trim() {
  auto now = std::chrono::steady_clock::now();
  if (now - last_trim_ < kTrimPeriod) return;
  // The free_low_ handles at the front were not taken once in the whole period.
  for (size_t i = 0; i < free_low_; ++i) curl_easy_cleanup(free_[i]);
  free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(free_low_));
  free_low_ = free_.size();
  last_trim_ = now;
}

void CurlMulti::Add(CURL* easy, Done done) {
  done_.emplace(easy, std::move(done));
  curl_multi_add_handle(Multi(), easy);  // curl asks for a 0 ms timer to start it
}

int CurlMulti::OnSocket(CURL*, curl_socket_t s, int what, void* self, void*) {
  auto* m = static_cast<CurlMulti*>(self);
  if (what == CURL_POLL_REMOVE) {
    m->loop_.Unwatch(s);
    return 0;
  }
  uint32_t events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= EPOLLIN;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= EPOLLOUT;
  m->loop_.Watch(s, events, [m, s](uint32_t ev) {
    int flags = 0;
    if (ev & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (ev & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (ev & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    m->Action(s, flags);
  });
  return 0;
}

int CurlMulti::OnTimer(CURLM*, long timeout_ms, void* self) {
  auto* m = static_cast<CurlMulti*>(self);
  if (m->timer_ != 0) {
    m->loop_.CancelTimer(m->timer_);
    m->timer_ = 0;
  }
  if (timeout_ms < 0) return 0;
  m->timer_ = m->loop_.AddTimer(
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms), [m] {
        m->timer_ = 0;
        m->Action(CURL_SOCKET_TIMEOUT, 0);
      });
  return 0;
}

void CurlMulti::Action(curl_socket_t s, int ev_bitmask) {
  int running = 0;
  curl_multi_socket_action(multi_, s, ev_bitmask, &running);
  DrainFinished();
}

void CurlMulti::DrainFinished() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode rc = msg->data.result;
    curl_multi_remove_handle(multi_, easy);
    auto it = done_.find(easy);
    if (it == done_.end()) continue;
    Done done = std::move(it->second);
    done_.erase(it);
    done(easy, rc);
  }
}

}  // namespace failover
