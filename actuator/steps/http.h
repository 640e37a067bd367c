// http: one HTTP request whose status is checked.
//   http: {method: POST, url: "http://127.0.0.1:9000/flush?region={{labels.region}}",
//          headers: {X-Runbook: "{{runbook}}"}, body: "...", expect_status: [200, 204],
//          bearer_token_file: /etc/failover/flush.token, timeout: 10s, retries: 3,
//          tls: {ca_file: /etc/failover/internal-ca.pem}}
// tls: is the client TLS block both daemons share (ParseTlsClientOptions in
// common/config_fields.h): ca_file, cert_file, key_file, server_name, insecure_skip_verify.
// url, header values and body are templates (parsed at load, rendered at run). Status not
// in expect_status (default: any 2xx): 5xx and 429 are retryable, anything else failed;
// transport errors (refused, timeout) are retryable. Authorization-like headers, the bearer
// token and URL passwords are redacted in Render() and never appear in messages.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewHttpStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
