// Drives libcurl's multi interface on the EventLoop (curl_multi_socket_action): one
// loop for every HTTP and TCP probe, no thread per transfer.
#pragma once

#include <curl/curl.h>

#include <functional>
#include <unordered_map>

#include "exporter/event_loop.h"

namespace failover {

class CurlMulti {
 public:
  using Done = std::function<void(CURL* easy, CURLcode result)>;

  explicit CurlMulti(EventLoop& loop);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // Starts the transfer. `done` runs on the loop thread once the transfer is over and the
  // handle has been removed from the multi; the caller then owns (and cleans up) `easy`.
  void Add(CURL* easy, Done done);
  size_t active() const { return done_.size(); }

 private:
  static int OnSocket(CURL* easy, curl_socket_t s, int what, void* self, void* socketp);
  static int OnTimer(CURLM* multi, long timeout_ms, void* self);
  void Action(curl_socket_t s, int ev_bitmask);
  void DrainFinished();

  EventLoop& loop_;
  CURLM* multi_;
  EventLoop::TimerId timer_ = 0;
  std::unordered_map<CURL*, Done> done_;
};

}  // namespace failover
