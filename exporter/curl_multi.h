// Drives libcurl's multi interface on the EventLoop (curl_multi_socket_action): one
// loop for every HTTP and TCP probe, no thread per transfer.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <functional>
#include <unordered_map>
#include <vector>

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
  // handle has been removed from the multi; the caller then owns `easy` (and gives it back
  // with Release).
  void Add(CURL* easy, Done done);
  size_t active() const { return done_.size(); }

  // A handle with default options (the first call initialises libcurl), reused from earlier
  // transfers when one is free: a probe run costs a few setopt calls instead of allocating (and
  // freeing) a handle, and memory follows the number of concurrent runs, not the number of probes.
  CURL* Acquire();
  // Resets `easy` and keeps it for the next Acquire (up to a bound; the rest are freed).
  // Handles that stayed unused for a whole kTrimPeriod are freed too: the pool follows the
  // runs in flight of late, not the largest burst since start-up (a handle with its
  // buffers is ~20 KiB; a start-up burst of 10,000 probes would otherwise keep 256 of
  // them, ~5 MiB, for good).
  void Release(CURL* easy);
  static constexpr size_t kMaxFree = 256;
  static constexpr std::chrono::seconds kTrimPeriod{30};
  size_t pooled() const { return free_.size(); }

 private:
  static int OnSocket(CURL* easy, curl_socket_t s, int what, void* self, void* socketp);
  static int OnTimer(CURLM* multi, long timeout_ms, void* self);
  void Action(curl_socket_t s, int ev_bitmask);
  void DrainFinished();

  CURLM* Multi();  // created (and libcurl initialised) on first use

  EventLoop& loop_;
  CURLM* multi_ = nullptr;
  EventLoop::TimerId timer_ = 0;
  std::unordered_map<CURL*, Done> done_;
  void Trim();

  std::vector<CURL*> free_;  // the most recently released last
  size_t free_low_ = 0;      // fewest in free_ since the last trim
  std::chrono::steady_clock::time_point last_trim_ = std::chrono::steady_clock::now();
};

}  // namespace failover
