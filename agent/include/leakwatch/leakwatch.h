// leakwatch/leakwatch.h — umbrella header: everything a service needs.
//
// See agent.h (start the agent), task.h (tasks and block sites), sync.h
// (instrumented Mutex, CondVar, WaitGroup, Channel), snapshot.h (reading the
// state), config.h (configuration) and coro.h (C++20 coroutines as tasks).
// Not included, as they need libraries of their own: grpc.h (leakwatch::grpc:
// RPC tracking and the introspection service, needs gRPC) and testing.h
// (leakwatch::testing, needs GoogleTest).

#ifndef LEAKWATCH_LEAKWATCH_H_
#define LEAKWATCH_LEAKWATCH_H_

#include "leakwatch/agent.h"
#include "leakwatch/config.h"
#include "leakwatch/coro.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/sync.h"
#include "leakwatch/task.h"

#endif  // LEAKWATCH_LEAKWATCH_H_
