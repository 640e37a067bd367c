// Load driver of bench/actuator_webhook.py: C concurrent keep-alive HTTP/1.1 clients on one
// thread (epoll), each sending pre-built requests one at a time. A Python driver costs
// ~0.3 ms of CPU per request, on a 2-core machine the actuator's competitor; this one costs
// a few microseconds, and its answers are timed when they arrive, not when an interpreter
// gets to them.
//
// Usage: webhook_load HOST PORT REQUESTS_FILE CONNECTIONS DURATION_S RATE TIMEOUT_S
//   REQUESTS_FILE: each request as a 4-byte little-endian length and its bytes.
//   RATE 0: closed loop (each client sends as soon as it has its answer). RATE > 0: open
//   loop, the clients together send RATE requests/s: client i sends its k-th request at
//   start + (i / C + k) * C / RATE, and its latency counts from that time (a server that
//   falls behind is not excused).
// Output, one line per answered or failed request, then one summary line:
//   a INDEX CLIENT STATUS LATENCY_NS MATCHED DEDUPLICATED CLOSE AT_NS (from the start)
//   e INDEX CLIENT WHAT
//   s CONNECTS ELAPSED_NS
// Addresses are the caller's (the bench uses 127.0.0.1 only). Every loop is bounded by the
// duration plus the timeout.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  const char* data;
  uint32_t len;
} Request;

enum { kIdle, kConnecting, kSending, kReading };

typedef struct {
  int fd;
  int state;
  int64_t index;   // the request in flight
  size_t sent;     // bytes of it written
  int64_t t0;      // when its latency starts (ns, CLOCK_MONOTONIC)
  int64_t due;     // open loop: when the next request is due
  char* in;        // the answer so far
  size_t in_len, in_cap;
  uint32_t events;  // registered with epoll
} Client;

static int64_t Now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static Request* g_reqs;
static int64_t g_nreqs, g_next;
static struct sockaddr_in g_addr;
static int g_ep;
static long g_connects;

static void Fail(Client* c, int id, const char* what) {
  printf("e %lld %d %s\n", (long long)c->index, id, what);
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->state = kIdle;
  c->in_len = 0;
}

// Waits for `events` on the client's socket (EPOLLOUT only while a request is not out).
static void Arm(Client* c, int id, uint32_t events) {
  if (c->events == events) return;
  struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)id};
  epoll_ctl(g_ep, c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev);
  c->events = events;
}

static int Connect(Client* c, int id) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -1;
  c->events = 0;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ++g_connects;
  Arm(c, id, EPOLLIN | EPOLLOUT);
  if (connect(c->fd, (struct sockaddr*)&g_addr, sizeof g_addr) < 0 && errno != EINPROGRESS) {
    return -1;
  }
  return 0;
}

// Writes what the socket takes; 1 when the request is out.
static int Send(Client* c) {
  const Request* r = &g_reqs[c->index];
  while (c->sent < r->len) {
    ssize_t n = send(c->fd, r->data + c->sent, r->len - c->sent, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN ? 0 : -1;
    c->sent += (size_t)n;
  }
  return 1;
}

static void Start(Client* c, int id, int64_t t0) {
  c->index = g_next++;
  c->sent = 0;
  c->t0 = t0;
  c->in_len = 0;
  if (c->fd < 0) {
    if (Connect(c, id) < 0) {
      Fail(c, id, "connect");
      return;
    }
    c->state = kConnecting;
    return;
  }
  int r = Send(c);
  if (r < 0) {
    Fail(c, id, "send");
    return;
  }
  c->state = r ? kReading : kSending;
  Arm(c, id, r ? EPOLLIN : EPOLLIN | EPOLLOUT);
}

// The answer, once whole: 1 (and the fields), 0 not yet, -1 malformed.
static int Answer(Client* c, int* status, int* close_after, long* matched, long* dedup) {
  if (c->in_len < 4) return 0;
  char* end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
  if (end == NULL) return 0;
  size_t head = (size_t)(end - c->in) + 4;
  if (c->in_len < 12 || memcmp(c->in, "HTTP/1.", 7) != 0) return -1;
  *status = atoi(c->in + 9);
  size_t clen = 0;
  *close_after = 0;
  for (char* p = c->in; p < end;) {
    char* eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
    if (eol == NULL) break;
    if (eol - p > 15 && strncasecmp(p, "content-length:", 15) == 0) clen = strtoul(p + 15, 0, 10);
    if (eol - p >= 17 && strncasecmp(p, "connection: close", 17) == 0) *close_after = 1;
    p = eol + 2;
  }
  if (c->in_len < head + clen) return 0;
  *matched = *dedup = 0;
  char* body = c->in + head;
  char save = body[clen];
  body[clen] = 0;  // in_cap > in_len always (see Read)
  char* m = strstr(body, "\"matched\":");
  if (m) *matched = strtol(m + 10, 0, 10);
  char* d = strstr(body, "\"deduplicated\":");
  if (d) *dedup = strtol(d + 15, 0, 10);
  body[clen] = save;
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 8) {
    fprintf(stderr,
            "usage: %s HOST PORT REQUESTS_FILE CONNECTIONS DURATION_S RATE TIMEOUT_S\n", argv[0]);
    return 2;
  }
  g_addr.sin_family = AF_INET;
  g_addr.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &g_addr.sin_addr) != 1) {
    fprintf(stderr, "webhook_load: bad address %s\n", argv[1]);
    return 2;
  }
  FILE* f = fopen(argv[3], "rb");
  if (!f) {
    fprintf(stderr, "webhook_load: cannot read %s\n", argv[3]);
    return 2;
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char* blob = malloc((size_t)size + 1);
  if (fread(blob, 1, (size_t)size, f) != (size_t)size) return 2;
  fclose(f);
  for (long off = 0; off + 4 <= size; ++g_nreqs) {
    uint32_t n;
    memcpy(&n, blob + off, 4);
    off += 4 + n;
  }
  g_reqs = calloc((size_t)g_nreqs + 1, sizeof(Request));
  for (long off = 0, i = 0; i < g_nreqs; ++i) {
    memcpy(&g_reqs[i].len, blob + off, 4);
    g_reqs[i].data = blob + off + 4;
    off += 4 + g_reqs[i].len;
  }
  int nconn = atoi(argv[4]);
  int64_t duration = (int64_t)(atof(argv[5]) * 1e9);
  double rate = atof(argv[6]);
  int64_t timeout = (int64_t)(atof(argv[7]) * 1e9);
  int64_t period = rate > 0 ? (int64_t)(nconn / rate * 1e9) : 0;

  g_ep = epoll_create1(EPOLL_CLOEXEC);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct epoll_event tev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(g_ep, EPOLL_CTL_ADD, tfd, &tev);
  Client* cs = calloc((size_t)nconn, sizeof(Client));
  int64_t start = Now();
  int64_t deadline = start + duration;
  for (int i = 0; i < nconn; ++i) {
    cs[i].fd = -1;
    cs[i].in_cap = 4096;
    cs[i].in = malloc(cs[i].in_cap);
    cs[i].due = start + period * i / nconn;
  }
  int64_t last_answer = start;
  struct epoll_event evs[256];
  for (;;) {
    int64_t now = Now();
    int busy = 0;
    int64_t next_due = INT64_MAX;
    for (int i = 0; i < nconn; ++i) {
      Client* c = &cs[i];
      if (c->state != kIdle) {
        if (now - c->t0 > timeout) {
          Fail(c, i, "timeout");
        } else {
          busy = 1;
        }
        continue;
      }
      if (g_next >= g_nreqs || now >= deadline) continue;
      if (period && c->due > now) {
        if (c->due < next_due) next_due = c->due;
        continue;
      }
      int64_t t0 = period ? c->due : now;
      if (period) c->due += period;
      Start(c, i, t0);
      if (c->state != kIdle) busy = 1;
    }
    if (!busy && (g_next >= g_nreqs || now >= deadline)) break;
    if (next_due != INT64_MAX) {
      struct itimerspec its = {0};
      int64_t at = next_due;
      its.it_value.tv_sec = at / 1000000000;
      its.it_value.tv_nsec = at % 1000000000;
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    }
    int n = epoll_wait(g_ep, evs, 256, 100);
    for (int k = 0; k < n; ++k) {
      uint32_t id = evs[k].data.u32;
      if (id == UINT32_MAX) {
        uint64_t v;
        if (read(tfd, &v, sizeof v) < 0) { /* spurious */ }
        continue;
      }
      Client* c = &cs[id];
      if (c->fd < 0) continue;
      if (c->state == kConnecting || c->state == kSending) {
        if (c->state == kConnecting) {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) {
            Fail(c, (int)id, "connect");
            continue;
          }
        }
        int r = Send(c);
        if (r < 0) {
          Fail(c, (int)id, "send");
          continue;
        }
        c->state = r ? kReading : kSending;
        if (r) Arm(c, (int)id, EPOLLIN);
        continue;
      }
      if (c->state != kReading) {
        // An idle keep-alive connection became readable: the server closed it.
        char b[256];
        if (recv(c->fd, b, sizeof b, 0) <= 0) {
          close(c->fd);
          c->fd = -1;
        }
        continue;
      }
      for (;;) {
        if (c->in_cap - c->in_len < 4096) {
          c->in_cap *= 2;
          c->in = realloc(c->in, c->in_cap);
        }
        ssize_t got = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1, 0);
        if (got < 0 && errno == EAGAIN) break;
        if (got <= 0) {
          Fail(c, (int)id, got == 0 ? "closed" : "recv");
          break;
        }
        c->in_len += (size_t)got;
        int status, close_after;
        long matched, dedup;
        int a = Answer(c, &status, &close_after, &matched, &dedup);
        if (a < 0) {
          Fail(c, (int)id, "malformed");
          break;
        }
        if (a == 0) continue;
        int64_t t = Now();
        last_answer = t;
        printf("a %lld %u %d %lld %ld %ld %d %lld\n", (long long)c->index, id, status,
               (long long)(t - c->t0), matched, dedup, close_after, (long long)(t - start));
        c->state = kIdle;
        c->in_len = 0;
        if (close_after) {
          close(c->fd);
          c->fd = -1;
        }
        // Closed loop: the next request at once, on this connection.
        if (!period && g_next < g_nreqs && t < deadline) {
          Start(c, (int)id, t);
        }
        break;
      }
    }
  }
  printf("s %ld %lld\n", g_connects, (long long)(last_answer - start));
  return 0;
}
