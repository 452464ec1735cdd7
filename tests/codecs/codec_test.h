/*
 * tests/codecs/codec_test.h -- helpers shared by the codec suites.
 */
#ifndef TROUPE_TESTS_CODEC_TEST_H
#define TROUPE_TESTS_CODEC_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "troupe/codec.h"

/* Compare result codes by name, so a failure reads "EPROTO != OK". */
#define ASSERT_RC(expected, expr)                                              \
    do {                                                                       \
        int rc_ = (expr);                                                      \
        if (rc_ != (expected))                                                 \
            fail_msg("%s: got %s (%d), want %s (%d)", #expr,                   \
                     tr_err_name(rc_), rc_, tr_err_name(expected),             \
                     (expected));                                              \
    } while (0)

#define ASSERT_OK(expr) ASSERT_RC(TR_OK, expr)

/* Compare a buffer's bytes with an expected byte string. */
static inline void assert_bytes(const uint8_t *got, size_t got_len,
                                const void *want, size_t want_len)
{
    if (got_len != want_len || memcmp(got, want, want_len) != 0) {
        fprintf(stderr, "got  %zu bytes:", got_len);
        for (size_t i = 0; i < got_len; i++)
            fprintf(stderr, " %02x", got[i]);
        fprintf(stderr, "\nwant %zu bytes:", want_len);
        for (size_t i = 0; i < want_len; i++)
            fprintf(stderr, " %02x", ((const uint8_t *)want)[i]);
        fprintf(stderr, "\n");
        fail_msg("byte mismatch");
    }
}

#define ASSERT_BUF_BYTES(b, lit) assert_bytes((b)->data, (b)->len, (lit), sizeof(lit) - 1)

/* The contract's node_completed event (docs/ARCHITECTURE.md). */
static const char NODE_COMPLETED_JSON[] =
    "{\"type\":\"node_completed\",\"seq\":1042,"
    "\"execution_id\":\"exec_arb_btc_001_1a2b3c4d\","
    "\"workflow_id\":\"arb_btc_001\",\"bot_id\":\"bot_001\","
    "\"strategy_id\":\"arbitrage_btc\","
    "\"node_id\":\"price_binance\",\"node_name\":\"Binance Price Feed\","
    "\"node_category\":\"providers\","
    "\"timestamp\":\"2026-01-25T10:15:23.501Z\",\"duration_ms\":45.2,"
    "\"status\":\"success\","
    "\"attempt\":1,\"outputs\":{\"price\":50234.56,\"volume\":1234.56}}";

/* Build the same event with the writer (as the executor will). */
static inline void build_node_completed(tr_buf *b)
{
    tr_mp_write_map(b, 14);
    tr_mp_write_cstr(b, "type");
    tr_mp_write_cstr(b, "node_completed");
    tr_mp_write_cstr(b, "seq");
    tr_mp_write_uint(b, 1042);
    tr_mp_write_cstr(b, "execution_id");
    tr_mp_write_cstr(b, "exec_arb_btc_001_1a2b3c4d");
    tr_mp_write_cstr(b, "workflow_id");
    tr_mp_write_cstr(b, "arb_btc_001");
    tr_mp_write_cstr(b, "bot_id");
    tr_mp_write_cstr(b, "bot_001");
    tr_mp_write_cstr(b, "strategy_id");
    tr_mp_write_cstr(b, "arbitrage_btc");
    tr_mp_write_cstr(b, "node_id");
    tr_mp_write_cstr(b, "price_binance");
    tr_mp_write_cstr(b, "node_name");
    tr_mp_write_cstr(b, "Binance Price Feed");
    tr_mp_write_cstr(b, "node_category");
    tr_mp_write_cstr(b, "providers");
    tr_mp_write_cstr(b, "timestamp");
    tr_mp_write_cstr(b, "2026-01-25T10:15:23.501Z");
    tr_mp_write_cstr(b, "duration_ms");
    tr_mp_write_double(b, 45.2);
    tr_mp_write_cstr(b, "status");
    tr_mp_write_cstr(b, "success");
    tr_mp_write_cstr(b, "attempt");
    tr_mp_write_int(b, 1);
    tr_mp_write_cstr(b, "outputs");
    tr_mp_write_map(b, 2);
    tr_mp_write_cstr(b, "price");
    tr_mp_write_double(b, 50234.56);
    tr_mp_write_cstr(b, "volume");
    tr_mp_write_double(b, 1234.56);
}

#endif /* TROUPE_TESTS_CODEC_TEST_H */
