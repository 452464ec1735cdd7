/* runtime/atomics.c -- storage for the TSan backend of atomics.h. */
#include "runtime/atomics.h"

#if defined(TR_ATOMICS_BUILTINS) && TR_ATOMICS_BUILTINS
uint32_t tr__tsan_fence_word; /* see tr__fence_seq_cst in atomics.h */
#else
typedef int tr__atomics_ck_backend; /* nothing to store for ck_pr */
#endif
