/* Loaded (dlopen by path) before civetweb initialises TLS. Its SONAME is "libssl.so",
 * so civetweb's own dlopen("libssl.so") returns this object, and its dlsym() calls find
 * every SSL_* function in libssl.so.3 (a dependency of this object) plus the one that
 * OpenSSL 3 only has as a macro: without it civetweb 1.15 calls a null pointer on every
 * TLS connection (ssl_get_client_cert_info). It also spares production hosts the
 * libssl-dev symlink civetweb would otherwise dlopen. See common/http_server.cc. */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate
X509* SSL_get_peer_certificate(const SSL* s);
X509* SSL_get_peer_certificate(const SSL* s) { return SSL_get1_peer_certificate(s); }
