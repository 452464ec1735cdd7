/*
 * runtime/log_line.h -- the line formatter behind runtime/log.c.
 */
#ifndef TR_RUNTIME_LOG_LINE_H
#define TR_RUNTIME_LOG_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/log.h"

extern const char tr__log_hexdig[];

/* strnlen with a cap. */
size_t tr__log_capped_len(const char *s, size_t max);
/* len, shortened so it does not end inside a UTF-8 character. */
size_t tr__log_utf8_trim_tail(const char *s, size_t len);
/* UTC ISO-8601 with milliseconds into out; returns the time in ms. */
int64_t tr__log_format_ts(char out[32]);
/* Build one complete line (ending in '\n') into line[TR_LOG_LINE_MAX];
 * returns its length; *truncated says whether anything was cut. */
size_t tr__log_build_line(char *line, tr_log_format format, tr_log_level level,
                          const char *ts, const char *module, size_t module_len,
                          const char *corr, size_t corr_len, const char *msg,
                          size_t msg_len, bool msg_cut, const tr_log_field *fields,
                          size_t nfields, bool *truncated);

#endif
