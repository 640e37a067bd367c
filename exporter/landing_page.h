#pragma once

#include <string>
#include <vector>

#include "exporter/result_store.h"

namespace failover {

// The page at "/": every probe with its last result and why it failed, failing probes
// first, with the DNS target and replication lag where the probe reports them; the table
// refreshes itself in place. With `probe` set ("/?probe=NAME"): that probe's last runs with
// their failure detail.
std::string RenderExporterLandingPage(const std::vector<ProbeStatus>& probes,
                                      const std::string& config_file,
                                      const std::string& probe = "");

}  // namespace failover
