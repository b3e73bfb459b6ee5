// leakwatch/leakwatch.h — umbrella header: everything a service needs.
//
// See agent.h (start the agent), task.h (tasks and block sites), sync.h
// (instrumented Mutex, CondVar, WaitGroup, Channel), snapshot.h (reading the
// state) and config.h (configuration).

#ifndef LEAKWATCH_LEAKWATCH_H_
#define LEAKWATCH_LEAKWATCH_H_

#include "leakwatch/agent.h"
#include "leakwatch/config.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/sync.h"
#include "leakwatch/task.h"

#endif  // LEAKWATCH_LEAKWATCH_H_
