/* SONAME "libcrypto.so": answers civetweb's dlopen("libcrypto.so") with libcrypto.so.3
 * (a dependency of this object) on hosts without the libssl-dev symlink. See
 * ssl_shim.c. */
#include <openssl/crypto.h>

int failover_civetweb_crypto_shim(void);
int failover_civetweb_crypto_shim(void) { return OPENSSL_VERSION_MAJOR; }
