/*
 * troupe/troupe.h -- every public troupe header.
 *
 * Each component also has its own header; include this one for all of them.
 * Like the others it pulls in only the C standard library.
 */
#ifndef TROUPE_TROUPE_H
#define TROUPE_TROUPE_H

#include "troupe/error.h"
#include "troupe/payload.h"
#include "troupe/runtime.h"
#include "troupe/supervisor.h"
#include "troupe/log.h"
#include "troupe/config.h"
#include "troupe/codec.h"
#include "troupe/expr.h"
#include "troupe/workflow.h"
#include "troupe/resilience.h"
#include "troupe/nodes.h"
#include "troupe/bus.h"
#include "troupe/state.h"
#include "troupe/engine.h"
#include "troupe/emergency.h"
#include "troupe/serve.h"

#endif /* TROUPE_TROUPE_H */
