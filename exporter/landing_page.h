#pragma once

#include <string>
#include <vector>

#include "exporter/result_store.h"

namespace failover {

// The page at "/": every probe with its last result and why it failed.
std::string RenderExporterLandingPage(const std::vector<ProbeStatus>& probes,
                                      const std::string& config_file);

}  // namespace failover
