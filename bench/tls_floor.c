/* The CPU floor of one https probe, measured against the benchmark's own nginx:
 *   curl:    one libcurl transfer the way failover_exporter's http probe makes it (multi
 *            interface, a fresh connection, the chain verified against the CA file,
 *            no session reuse);
 *   openssl: the same request with OpenSSL alone and one SSL_CTX for every connection
 *            (what a TLS client of our own would cost: a full handshake, the chain
 *            verified, the GET, the answer, the close);
 *   openssl_resumed: the same, each connection resuming the previous one's session;
 *   openssl_paced, openssl_resumed_paced (with PACE_US): the two OpenSSL ones again with
 *            PACE_US microseconds of sleep between connections, the rate at which the
 *            exporter starts its probes. Back to back, the code and data stay in the CPU's
 *            caches; spread out like the probes, each connection starts cold, as the
 *            exporter's and blackbox_exporter's do. Sleeping costs no CPU time.
 * Usage: tls_floor HOST PORT CA_FILE N [PACE_US]. Prints CPU microseconds per probe for each.
 * bench/exporter_probes.py builds and runs it for --kind https; see bench/README.md. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double cpu_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static size_t sink(char* p, size_t s, size_t n, void* u) {
  (void)p;
  (void)u;
  return s * n;
}

static int curl_once(CURLM* m, CURL* h, const char* url, const char* ca) {
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CAINFO, ca);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  curl_multi_add_handle(m, h);
  int running = 1, ok = 0, left;
  while (running) {
    curl_multi_perform(m, &running);
    if (running) curl_multi_poll(m, NULL, 0, 1000, NULL);
  }
  CURLMsg* msg;
  while ((msg = curl_multi_info_read(m, &left)) != NULL) ok = msg->data.result == CURLE_OK;
  curl_multi_remove_handle(m, h);
  return ok;
}

/* With `session` non-null: offer *session (when set) and keep the newest session the
 * server gave (a TLS 1.3 ticket arrives with the answer). */
static int openssl_once(SSL_CTX* ctx, const char* host, int port, SSL_SESSION** session) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  inet_pton(AF_INET, host, &a.sin_addr);
  int ok = 0;
  if (connect(fd, (struct sockaddr*)&a, sizeof a) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set1_host(ssl, host);
    SSL_set_fd(ssl, fd);
    if (session != NULL && *session != NULL) SSL_set_session(ssl, *session);
    char req[256], buf[4096];
    snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
             host);
    if (SSL_connect(ssl) == 1 && SSL_write(ssl, req, (int)strlen(req)) > 0) {
      int n;
      while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) ok = 1;
    }
    if (session != NULL && ok) {
      SSL_SESSION* s = SSL_get1_session(ssl);
      if (s != NULL) {
        if (*session != NULL) SSL_SESSION_free(*session);
        *session = s;
      }
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  close(fd);
  return ok;
}

/* N connections with `pace_us` of sleep between them; CPU microseconds per connection. */
static double openssl_run(SSL_CTX* ctx, const char* host, int port, int n, int resume,
                          int pace_us, int* ok) {
  SSL_SESSION* session = NULL;
  for (int i = 0; i < 10; ++i) openssl_once(ctx, host, port, resume ? &session : NULL);
  *ok = 0;
  double t0 = cpu_us();
  for (int i = 0; i < n; ++i) {
    *ok += openssl_once(ctx, host, port, resume ? &session : NULL);
    if (pace_us > 0) usleep((useconds_t)pace_us);
  }
  double per = (cpu_us() - t0) / n;
  if (session != NULL) SSL_SESSION_free(session);
  return per;
}

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) return 2;
  const char* host = argv[1];
  int port = atoi(argv[2]), n = atoi(argv[4]);
  const char* ca = argv[3];
  char url[256];
  snprintf(url, sizeof url, "https://%s:%d/healthz", host, port);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* m = curl_multi_init();
  CURL* h = curl_easy_init();
  int ok = 0;
  for (int i = 0; i < 10; ++i) curl_once(m, h, url, ca); /* warm up, CA store cached */
  double t0 = cpu_us();
  for (int i = 0; i < n; ++i) ok += curl_once(m, h, url, ca);
  printf("curl %.1f %d\n", (cpu_us() - t0) / n, ok);

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx, ca, NULL);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  double per = openssl_run(ctx, host, port, n, 0, 0, &ok);
  printf("openssl %.1f %d\n", per, ok);
  /* The same, each connection resuming the previous one's session. */
  per = openssl_run(ctx, host, port, n, 1, 0, &ok);
  printf("openssl_resumed %.1f %d\n", per, ok);
  if (argc == 6 && atoi(argv[5]) > 0) {
    int pace = atoi(argv[5]);
    per = openssl_run(ctx, host, port, n, 0, pace, &ok);
    printf("openssl_paced %.1f %d\n", per, ok);
    per = openssl_run(ctx, host, port, n, 1, pace, &ok);
    printf("openssl_resumed_paced %.1f %d\n", per, ok);
  }
  return 0;
}
