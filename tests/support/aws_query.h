#pragma once
// What the contract fakes of AWS's Query APIs (RDS, Elastic Load Balancing v2, CloudWatch)
// share: the form-encoded request body, the XML answers and the error envelope
// (docs/contracts/databases.md, load-balancers.md and cloudwatch.md record each API's).

#include <map>
#include <string>
#include <string_view>

#include "common/http_server.h"

namespace failover::testing {

// The fields of an application/x-www-form-urlencoded body ('+' is a space, %XX a byte; a
// malformed escape is kept as it is).
std::map<std::string, std::string> ParseAwsForm(std::string_view body);

// A text/xml answer with the XML declaration in front of `body`.
HttpServerResponse AwsXml(int status, std::string body);

// The Query APIs' error envelope: <ErrorResponse xmlns=ns><Error><Type>type</Type>
// <Code>code</Code><Message>message</Message></Error><RequestId>request_id</RequestId>.
HttpServerResponse AwsErrorXml(int status, std::string_view ns, const std::string& code,
                               const std::string& message, std::string_view type,
                               std::string_view request_id);

}  // namespace failover::testing
