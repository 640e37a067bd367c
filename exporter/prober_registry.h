// The single list of probe kinds: config validation, --list-kinds, and the metric
// families that get pre-initialised all come from it.
#pragma once

#include "common/kind_registry.h"
#include "exporter/prober.h"

namespace failover {

// A kind's name is the key in the probe's YAML block ("http", "tcp", ...).
using ProberRegistry = KindRegistry<ProberFactory>;
using ProberKind = ProberRegistry::Kind;

// Registers every built-in kind. A new kind: probers/<kind>.{h,cc}, a Register line in
// prober_registry.cc, its .cc in exporter/CMakeLists.txt (docs/development.md lists the rest).
void RegisterBuiltinProbers(ProberRegistry& registry);

}  // namespace failover
