#include "tests/support/tls_cert.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <stdexcept>

namespace failover::testing {
namespace {

[[noreturn]] void Throw(const std::string& what) {
  char buf[256] = {0};
  unsigned long e = ERR_get_error();
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  throw std::runtime_error("TlsCert: " + what + (e != 0 ? std::string(": ") + buf : ""));
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};

void AddExtension(X509* cert, int nid, const std::string& value, X509* issuer = nullptr) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, ExtFree> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) Throw("extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) Throw("X509_add_ext");
}

std::string ToPem(bool (*write)(BIO*, const void*), const void* obj) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || !write(bio.get(), obj)) Throw("PEM encoding");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "wb"));
  if (!bio) Throw("cannot write " + path);
  if (BIO_write(bio.get(), content.data(), static_cast<int>(content.size())) !=
      static_cast<int>(content.size())) {
    Throw("short write to " + path);
  }
  chmod(path.c_str(), mode);
}

}  // namespace

TlsCert::TlsCert(const std::string& dir, TlsCertOptions options) {
  not_after_unix_ = options.not_after_unix;
  if (not_after_unix_ == 0) {
    not_after_unix_ =
        std::chrono::duration_cast<std::chrono::seconds>(
            (std::chrono::system_clock::now() + std::chrono::hours(24 * 30)).time_since_epoch())
            .count();
  }

  std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_EC_gen("P-256"));
  if (!key) Throw("EC P-256 key generation");

  std::unique_ptr<X509, X509Free> cert(X509_new());
  if (!cert) Throw("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) Throw("X509_set_version");
  std::uint32_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) != 1) {
    Throw("RAND_bytes");
  }
  ASN1_INTEGER_set_int64(X509_get_serialNumber(cert.get()), (serial & 0x7fffffff) | 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  if (ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after_unix_)) ==
      nullptr) {
    Throw("notAfter");
  }
  if (X509_set_pubkey(cert.get(), key.get()) != 1) Throw("X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_ASC,
          reinterpret_cast<const unsigned char*>(options.common_name.c_str()), -1, -1, 0) != 1) {
    Throw("subject CN");
  }
  std::unique_ptr<X509, X509Free> issuer_cert;
  std::unique_ptr<EVP_PKEY, PkeyFree> issuer_key;
  if (options.issuer != nullptr) {
    std::unique_ptr<BIO, BioFree> cb(BIO_new_file(options.issuer->cert_path().c_str(), "rb"));
    std::unique_ptr<BIO, BioFree> kb(BIO_new_file(options.issuer->key_path().c_str(), "rb"));
    if (!cb || !kb) Throw("cannot read the issuer's files");
    issuer_cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    issuer_key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (!issuer_cert || !issuer_key) Throw("cannot parse the issuer's certificate or key");
  }
  if (X509_set_issuer_name(cert.get(),
                           issuer_cert ? X509_get_subject_name(issuer_cert.get()) : name) != 1) {
    Throw("issuer");
  }

  std::string san;
  for (const std::string& d : options.dns_names) san += (san.empty() ? "" : ",") + ("DNS:" + d);
  for (const std::string& ip : options.ip_addresses) {
    san += (san.empty() ? "" : ",") + ("IP:" + ip);
  }
  // Self-signed: the certificate is its own trust anchor, so it may be a CA (as what
  // `openssl req -x509` makes) and still serve as the server's leaf certificate.
  // An issued certificate is a plain leaf.
  X509* signer = issuer_cert ? issuer_cert.get() : nullptr;
  AddExtension(cert.get(), NID_basic_constraints,
               signer ? "critical,CA:FALSE" : "critical,CA:TRUE");
  AddExtension(cert.get(), NID_key_usage,
               signer ? "critical,digitalSignature" : "critical,digitalSignature,keyCertSign");
  AddExtension(cert.get(), NID_ext_key_usage, options.ext_key_usage);
  AddExtension(cert.get(), NID_subject_key_identifier, "hash");
  AddExtension(cert.get(), NID_authority_key_identifier, "keyid:always", signer);
  if (!san.empty()) AddExtension(cert.get(), NID_subject_alt_name, san);

  if (X509_sign(cert.get(), issuer_key ? issuer_key.get() : key.get(), EVP_sha256()) == 0) {
    Throw("X509_sign");
  }

  cert_pem_ = ToPem(
      [](BIO* b, const void* o) {
        return PEM_write_bio_X509(b, static_cast<X509*>(const_cast<void*>(o))) == 1;
      },
      cert.get());
  std::string key_pem = ToPem(
      [](BIO* b, const void* o) {
        return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(const_cast<void*>(o)), nullptr,
                                        nullptr, 0, nullptr, nullptr) == 1;
      },
      key.get());

  cert_path_ = dir + "/" + options.cert_file;
  key_path_ = dir + "/" + options.key_file;
  WriteFile(cert_path_, cert_pem_, 0644);
  WriteFile(key_path_, key_pem, 0600);
}

}  // namespace failover::testing
