// libzmq's C API for Swift (StrataTransport wraps it). Needs libzmq >= 4.3 (apt: libzmq3-dev).
#ifndef STRATA_CZEROMQ_SHIM_H
#define STRATA_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
