// FAILOVER_LAZY_FORWARD defines one of a client library's C functions in this program: the
// first call looks the real function up in the library (common/lazy_library.h), mapping it
// if needed; every call then goes straight to it. The parameter list and the arguments are
// spelled out, and decltype(&name) makes the definition match the library's header.
#pragma once

#include "common/lazy_library.h"

#define FAILOVER_LAZY_FORWARD(library, ret, name, params, args)                           \
  extern "C" ret name params {                                                            \
    static auto* const real = reinterpret_cast<decltype(&name)>(library().Symbol(#name)); \
    return real args;                                                                     \
  }
