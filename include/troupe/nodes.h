/*
 * troupe/nodes.h -- the built-in node types (constant, price_feed, math,
 * condition, trade, delay, log) as pure, synchronous functions, and the
 * paper-trading book the `trade` node keeps.
 *
 * A node function never sleeps, blocks or does I/O.  It returns *what should
 * happen*: outputs, or a failure with an error_type, plus `delay_ms` (the
 * executor starts a timer and the result counts only when it fires: simulated
 * latency, `delay`) and `hang` (the result never counts: the executor's node
 * timeout fires instead).  Everything it needs comes in three arguments:
 *
 *   node      the plan's node (immutable, any thread);
 *   upstream  results of the other nodes of this execution, by plan index;
 *   env       mutable state owned by the caller: the clock, the price feeds'
 *             random walks (per workflow) and the paper book (per bot).
 *
 * Speed: nothing is allocated per call and no JSON is touched.  Config is
 * resolved once per node into a tr_node_prep (tr_node_prepare; the executor
 * keeps one per plan node) and tr_node_run uses only that; tr_node_run_builtin
 * prepares on every call (convenient, a few hundred ns slower).
 *
 * Threads: calls that share a tr_node_env (or a feed state or book in it) must
 * not run concurrently; calls with distinct envs may run on any threads.
 * Plans, preps and finished results are read-only and may be shared.
 *
 * docs/workflows.md ("Node semantics") describes each type's outputs.
 */
#ifndef TROUPE_NODES_H
#define TROUPE_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/codec.h"
#include "troupe/error.h"
#include "troupe/workflow.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------ */

#define TR_NODE_MAX_OUTPUTS 32  /* a constant with more scalar leaves fails  */
#define TR_NODE_TEXT_MAX 512    /* bytes of run-time strings (log message)   */
#define TR_NODE_ERROR_MAX 160

typedef enum tr_node_out_kind {
    TR_NODE_OUT_NUMBER = 0, /* num                                         */
    TR_NODE_OUT_INT,        /* i, and num = (double)i                       */
    TR_NODE_OUT_BOOL,       /* num = 1 or 0                                 */
    TR_NODE_OUT_STRING,     /* read with tr_node_output_str; num is NaN, so
                               an expression referring to it fails          */
} tr_node_out_kind;

/* One named output.  `name` is NUL-terminated and borrowed: a static string
 * or a string of the plan (valid while the plan is).  Read strings with
 * tr_node_output_str (a string may live in the result's own text buffer). */
typedef struct tr_node_output {
    const char *name;
    tr_node_out_kind kind;
    uint32_t str_len;
    double num;
    int64_t i;
    const char *str;        /* plan-owned string, or NULL: text[str_off]     */
    uint32_t str_off;
} tr_node_output;

/* What a node run produced.  Caller-allocated (an execution keeps one per
 * node), plain data: it may be copied with memcpy/assignment, and its
 * strings stay valid as long as the plan does.  Filled by the run functions;
 * they do not clear the whole struct (only the header fields and the used
 * outputs are written), so they are cheap to call on a reused result. */
typedef struct tr_node_result {
    int status;             /* 0 or the failure code (as returned)          */
    const char *error_type; /* static (or the plan's); NULL on success       */
    double delay_ms;        /* wait this long before the result counts      */
    bool hang;              /* never answer: let the node timeout fire      */
    bool skip_dependants;   /* condition was false: dependants are skipped  */
    uint32_t noutputs;
    tr_node_output outputs[TR_NODE_MAX_OUTPUTS];
    char error[TR_NODE_ERROR_MAX]; /* NUL-terminated; "" on success          */
    uint32_t text_len;
    char text[TR_NODE_TEXT_MAX];
} tr_node_result;

/* The output named name (NUL-terminated), or NULL.  Linear; any thread. */
TR_EXTERN const tr_node_output *tr_node_result_find(const tr_node_result *r,
                                                    const char *name);
/* The bytes of a STRING output (not necessarily NUL-terminated: use *len),
 * or NULL for other kinds.  Borrowed from r or from the plan. */
TR_EXTERN const char *tr_node_output_str(const tr_node_result *r,
                                         const tr_node_output *o, size_t *len);
/* Append the outputs as one msgpack map ({"price":50234.56,"symbol":"BTC/USDT"})
 * to b: the `outputs` of node_completed events.  NUMBER as float64, INT as
 * an integer, BOOL as a boolean, STRING as a string.  Errors are b's sticky
 * error (tr_buf_error).  Any thread. */
TR_EXTERN void tr_node_result_write_outputs(tr_buf *b, const tr_node_result *r);

/* ---------------------------------------------------------------------------
 * Upstream outputs
 * ------------------------------------------------------------------------ */

/* results[i] is the finished result of plan node i in this execution, or
 * NULL when it has not completed (pending, failed, skipped).  Expressions
 * look their references up here through tr_expr_ref.node_index.  plan is
 * the node's plan (used by trade's price rule and log placeholders; may be
 * NULL, then those fall back as documented).  Everything is borrowed for the
 * duration of the call. */
typedef struct tr_node_inputs {
    const tr_wf_plan *plan;
    const tr_node_result *const *results;
    uint32_t count;         /* entries in results (usually the node count)  */
} tr_node_inputs;

/* ---------------------------------------------------------------------------
 * Price feeds: per-feed random-walk state, caller-owned
 * ------------------------------------------------------------------------ */

/* The state of one price_feed node across calls (all zero = never called).
 * Keep one per feed node per workflow (env.feeds[plan index]) so runs with a
 * seed are reproducible and each execution continues the walk. */
typedef struct tr_price_feed_state {
    uint64_t calls;         /* attempts so far (fail_first counts these)    */
    uint64_t ticks;         /* successful calls                             */
    uint64_t walk_rng;      /* price/volume stream (seeded on first call)   */
    uint64_t fault_rng;     /* failure_rate stream (independent of prices)  */
    double price;           /* last price emitted                           */
    bool started;
} tr_price_feed_state;

/* ---------------------------------------------------------------------------
 * Paper trading book, caller-owned, one per bot
 * ------------------------------------------------------------------------ */

#define TR_PAPER_MAX_SYMBOLS 64
#define TR_PAPER_SYMBOL_MAX 48 /* bytes including the NUL                   */

typedef struct tr_paper_position {
    char symbol[TR_PAPER_SYMBOL_MAX];
    double quantity;        /* signed: > 0 long, < 0 short                  */
    double avg_price;       /* average entry price of the open quantity; 0 when flat */
    double realized_pnl;    /* realized on this symbol, all time            */
    double last_price;      /* last fill or mark                            */
    uint64_t trades;
} tr_paper_position;

typedef struct tr_paper_book {
    uint32_t npositions;
    tr_paper_position positions[TR_PAPER_MAX_SYMBOLS];
    double realized_pnl;    /* all symbols, all time                        */
    double daily_pnl;       /* realized since 00:00 UTC of `day`            */
    int64_t day;            /* days since 1970-01-01 UTC of daily_pnl       */
    uint64_t trades;
} tr_paper_book;

typedef enum tr_paper_side { TR_PAPER_BUY = 0, TR_PAPER_SELL = 1 } tr_paper_side;

/* An order about to be filled, as shown to the pre-trade check. */
typedef struct tr_paper_order {
    const char *symbol;
    tr_paper_side side;
    double quantity;        /* > 0                                          */
    double price;           /* the fill price                               */
    double position_before; /* signed                                       */
    double position_after;
} tr_paper_order;

/* What a fill did. */
typedef struct tr_paper_fill {
    double quantity;        /* signed (+buy, -sell)                         */
    double price;
    double realized_pnl;    /* realized by this fill                        */
    double position;        /* after                                        */
    double avg_price;       /* after                                        */
} tr_paper_fill;

/* A pre-trade check: return 0 to allow, or a negative TR_E* code (TR_ELIMIT,
 * TR_EHALTED, ...) to refuse, writing a reason into why[0..why_cap) (NUL-
 * terminated).  Called on the thread running the trade, before anything in
 * the book changes; it must not modify the book. */
typedef int (*tr_paper_check_fn)(void *arg, const tr_paper_book *book,
                                 const tr_paper_order *order, char *why, size_t why_cap);

/* Limits for tr_paper_check_limits; a limit <= 0 (or NaN) is off. */
typedef struct tr_paper_limits {
    double max_position_size;     /* |position after| * price (notional), as
                                     emergency.max_position_size            */
    double max_position_quantity; /* |position after| in units              */
} tr_paper_limits;

/* The default check (arg: const tr_paper_limits *): refuses with TR_ELIMIT
 * an order whose position after the fill exceeds a limit AND is larger in
 * magnitude than before (orders that reduce exposure always pass).
 * Any thread (reads only). */
TR_EXTERN int tr_paper_check_limits(void *arg, const tr_paper_book *book,
                                    const tr_paper_order *order, char *why, size_t why_cap);

/* An empty book.  Cannot fail. */
TR_EXTERN void tr_paper_book_init(tr_paper_book *book);
/* The position of symbol, or NULL.  Linear in npositions. */
TR_EXTERN const tr_paper_position *tr_paper_book_find(const tr_paper_book *book,
                                                      const char *symbol);
/* Record a market price for symbol (used by trades with no upstream price).
 * Returns 0, TR_EINVAL (bad symbol or price not finite > 0) or TR_ELIMIT
 * (book full); unchanged on failure. */
TR_EXTERN int tr_paper_book_mark(tr_paper_book *book, const char *symbol, double price);
/* Start a new day if now_ms is in a later UTC day than book->day (daily_pnl
 * becomes 0).  Fills call it; call it before reading daily_pnl. */
TR_EXTERN void tr_paper_book_roll_day(tr_paper_book *book, uint64_t now_ms);
/* Fill qty (signed: > 0 buys, < 0 sells) of symbol at price, at now_ms (ms
 * since the Unix epoch).  Reducing a position realizes (price - avg) * closed
 * quantity (sign-adjusted for shorts); crossing zero opens the remainder at
 * price.  Returns 0 and *out (may be NULL), or TR_EINVAL (qty 0 or not
 * finite, price not finite > 0, bad symbol), TR_ELIMIT (a new symbol in a full
 * book).  The book is unchanged on failure.  One thread at a time. */
TR_EXTERN int tr_paper_book_fill(tr_paper_book *book, const char *symbol, double qty,
                                 double price, uint64_t now_ms, tr_paper_fill *out);

/* Append the book as one msgpack map to b (b's sticky error reports
 * failures).  Format: {"version":1,"realized_pnl":..,"daily_pnl":..,"day":..,
 * "trades":..,"positions":{"BTC/USDT":{"quantity":..,"avg_price":..,
 * "realized_pnl":..,"last_price":..,"trades":..}}}.  Doubles are float64, so
 * a write/read round trip is exact. */
TR_EXTERN void tr_paper_book_write(tr_buf *b, const tr_paper_book *book);
/* Read a map written by tr_paper_book_write (integers are accepted where
 * doubles are written).  Returns 0, or TR_EPROTO (wrong shape: *out is
 * untouched).  Allocates nothing; any thread. */
TR_EXTERN int tr_paper_book_read(tr_mp_val v, tr_paper_book *out);
/* The same as JSON text (the state store's values).  to_json appends to out
 * (not NUL-terminated; tr_buf_cstr) and returns 0, TR_ENOMEM or
 * TR_EPROTO; from_json returns 0, TR_EPROTO or TR_ENOMEM, *out untouched on
 * failure.  from_json allocates (jansson): not for hot paths. */
TR_EXTERN int tr_paper_book_to_json(tr_buf *out, const tr_paper_book *book);
TR_EXTERN int tr_paper_book_from_json(const char *text, size_t len, tr_paper_book *out);

/* ---------------------------------------------------------------------------
 * The environment of a run
 * ------------------------------------------------------------------------ */

typedef struct tr_node_env {
    uint64_t now_ms;               /* wall clock, ms since the Unix epoch:
                                      timestamps and the daily_pnl day     */
    tr_price_feed_state *feeds;    /* feeds[plan index]; nfeeds entries;
                                      NULL: price_feed fails (TR_EINVAL)   */
    uint32_t nfeeds;
    tr_paper_book *book;           /* the bot's book; NULL: trade fails    */
    tr_paper_check_fn pre_trade;   /* NULL: no check                       */
    void *pre_trade_arg;
} tr_node_env;

/* ---------------------------------------------------------------------------
 * Running nodes
 * ------------------------------------------------------------------------ */

typedef enum tr_node_builtin {
    TR_NODE_NONE = 0, /* not a built-in type                               */
    TR_NODE_CONSTANT,
    TR_NODE_PRICE_FEED,
    TR_NODE_MATH,
    TR_NODE_CONDITION,
    TR_NODE_TRADE,
    TR_NODE_DELAY,
    TR_NODE_LOG,
} tr_node_builtin;

/* Which built-in type a type name is (TR_NODE_NONE when none). */
TR_EXTERN tr_node_builtin tr_node_builtin_of(const char *type_name);

/* A node's config resolved once.  Fields are private (set by
 * tr_node_prepare); plain data, valid while the plan is. */
typedef struct tr_node_prep_feed {
    const char *symbol;
    double start, volatility, latency_ms, failure_rate;
    uint64_t seed, fail_first;
    bool hang;
    const char *error_type;
} tr_node_prep_feed;

typedef struct tr_node_prep_trade {
    tr_paper_side side;
    const char *symbol;
    double quantity, price;   /* price: config price, NaN when none       */
    uint32_t price_src;       /* plan index of the price source, or UINT32_MAX */
} tr_node_prep_trade;

typedef struct tr_node_prep {
    const tr_wf_node *node;
    tr_node_builtin kind;
    union {
        tr_node_prep_feed feed;
        tr_node_prep_trade trade;
        struct {
            double ms;
        } delay;
        struct {
            const char *message, *level;
            size_t message_len;
        } log;
    } u;
} tr_node_prep;

/* Resolve node's config (plan: the node's plan, or NULL: then trade has no
 * upstream price source and uses the book).  Returns 0 and *out, TR_ENOENT
 * (not a built-in type), TR_EINVAL (NULL argument) or TR_ENOMEM (plan above
 * 8192 nodes: the ancestor walk of a trade node allocates a bitset).  Any
 * thread; O(config) plus, for trade, O(ancestors). */
TR_EXTERN int tr_node_prepare(const tr_wf_plan *plan, const tr_wf_node *node,
                              tr_node_prep *out);

/* Run a prepared built-in node.  Returns 0 when the node succeeded (out has
 * its outputs, delay_ms, skip_dependants; or hang = true: no outputs will
 * ever count), or a negative code when it failed; out->status is the same
 * value and out->error / out->error_type say why:
 *   injected fault         the configured error_type (ConnectionError, ...)
 *   missing reference      TR_ENOENT  "KeyError"
 *   division by zero       TR_ERANGE  "ZeroDivisionError"
 *   non-finite value       TR_ERANGE  "ArithmeticError"
 *   trade refused          the check's code (TR_ELIMIT) "RiskLimitExceeded"
 *   no price / bad state   TR_ENOENT / TR_EINVAL "ValueError"
 *   too many outputs       TR_ELIMIT  "ValueError"
 * Retry decisions: tr_error_type_retryable(out->error_type).  Allocates
 * nothing; never blocks.  Threads: see the header comment (env). */
TR_EXTERN int tr_node_run(const tr_node_prep *prep, const tr_node_inputs *upstream,
                          tr_node_env *env, tr_node_result *out);

/* tr_node_prepare (with upstream->plan) + tr_node_run.  A node that is not
 * built in fails with TR_ENOENT ("ValueError"). */
TR_EXTERN int tr_node_run_builtin(const tr_wf_node *node, const tr_node_inputs *upstream,
                                  tr_node_env *env, tr_node_result *out);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_NODES_H */
