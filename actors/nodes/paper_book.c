/*
 * actors/nodes/paper_book.c -- the paper-trading book: positions, average
 * prices, realized and daily P&L, and its msgpack/JSON form.
 *
 * Design
 * ------
 * A book is a fixed-size, caller-owned struct (one per bot, no pointers), so
 * it can be copied, embedded in an actor's state and snapshotted for the
 * state store; a fill never allocates.  Accounting is average-cost:
 *   - adding to a position (or opening one) moves the average price to the
 *     quantity-weighted mean;
 *   - reducing realizes closed * (price - avg) for a long, closed * (avg -
 *     price) for a short, and keeps the average;
 *   - crossing zero closes the whole old position and opens the remainder at
 *     the fill price.
 * A remainder within 1e-12 (relative) of zero counts as flat, so 0.1 + 0.2 -
 * 0.3 style residue never leaves a phantom position.  daily_pnl sums the
 * realized P&L of the current UTC day (day = now_ms / 86400000) and restarts
 * at 0 on the first fill or roll of a later day.
 * Every mutating function validates first and changes nothing on failure.
 */
#include <math.h>
#include <string.h>

#include "actors/nodes/nodes_internal.h"

#define MS_PER_DAY 86400000ull

void tr_paper_book_init(tr_paper_book *book)
{
    memset(book, 0, sizeof *book);
}

static tr_paper_position *find(tr_paper_book *book, const char *symbol)
{
    for (uint32_t i = 0; i < book->npositions; i++)
        if (strcmp(book->positions[i].symbol, symbol) == 0)
            return &book->positions[i];
    return NULL;
}

const tr_paper_position *tr_paper_book_find(const tr_paper_book *book, const char *symbol)
{
    if (book == NULL || symbol == NULL)
        return NULL;
    return find((tr_paper_book *)(uintptr_t)book, symbol);
}

static bool symbol_ok(const char *s)
{
    return s != NULL && s[0] != '\0' && strlen(s) < TR_PAPER_SYMBOL_MAX;
}

/* The position of symbol, created flat when absent; NULL when the book is
 * full.  Call only after every other check has passed. */
static tr_paper_position *get(tr_paper_book *book, const char *symbol)
{
    tr_paper_position *p = find(book, symbol);
    if (p != NULL || book->npositions >= TR_PAPER_MAX_SYMBOLS)
        return p;
    p = &book->positions[book->npositions++];
    memset(p, 0, sizeof *p);
    memcpy(p->symbol, symbol, strlen(symbol) + 1);
    return p;
}

int tr_paper_book_mark(tr_paper_book *book, const char *symbol, double price)
{
    if (book == NULL || !symbol_ok(symbol) || !(price > 0) || !isfinite(price))
        return TR_EINVAL;
    tr_paper_position *p = get(book, symbol);
    if (p == NULL)
        return TR_ELIMIT;
    p->last_price = price;
    return 0;
}

void tr_paper_book_roll_day(tr_paper_book *book, uint64_t now_ms)
{
    int64_t day = (int64_t)(now_ms / MS_PER_DAY);
    if (day > book->day) {
        book->day = day;
        book->daily_pnl = 0;
    }
}

int tr_paper_book_fill(tr_paper_book *book, const char *symbol, double qty, double price,
                       uint64_t now_ms, tr_paper_fill *out)
{
    if (book == NULL || !symbol_ok(symbol) || qty == 0 || !isfinite(qty) || !(price > 0) ||
        !isfinite(price))
        return TR_EINVAL;
    tr_paper_position *p = get(book, symbol);
    if (p == NULL)
        return TR_ELIMIT;
    tr_paper_book_roll_day(book, now_ms);

    double q0 = p->quantity, avg = p->avg_price, q, realized = 0;
    if (q0 == 0 || (q0 > 0) == (qty > 0)) {
        q = q0 + qty;
        avg = (fabs(q0) * avg + fabs(qty) * price) / fabs(q);
    } else {
        double a0 = fabs(q0), a = fabs(qty);
        double tol = 1e-12 * (a0 > a ? a0 : a);
        double closed = a < a0 ? a : a0;
        if (fabs(a - a0) <= tol)
            closed = a0;
        realized = closed * (q0 > 0 ? price - avg : avg - price);
        if (closed == a0) {       /* flat, or crossed zero */
            double rest = a - closed;
            q = rest > tol ? (qty > 0 ? rest : -rest) : 0.0;
            avg = q != 0 ? price : 0.0;
        } else {
            q = q0 + qty;         /* reduced, same side; avg kept */
        }
    }
    p->quantity = q;
    p->avg_price = avg;
    p->realized_pnl += realized;
    p->last_price = price;
    p->trades++;
    book->realized_pnl += realized;
    book->daily_pnl += realized;
    book->trades++;
    if (out != NULL) {
        out->quantity = qty;
        out->price = price;
        out->realized_pnl = realized;
        out->position = q;
        out->avg_price = avg;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Serialization
 * ------------------------------------------------------------------------ */

static void kv_double(tr_buf *b, const char *k, double v)
{
    tr_mp_write_cstr(b, k);
    tr_mp_write_double(b, v);
}

void tr_paper_book_write(tr_buf *b, const tr_paper_book *book)
{
    tr_mp_write_map(b, 6);
    tr_mp_write_cstr(b, "version");
    tr_mp_write_int(b, 1);
    kv_double(b, "realized_pnl", book->realized_pnl);
    kv_double(b, "daily_pnl", book->daily_pnl);
    tr_mp_write_cstr(b, "day");
    tr_mp_write_int(b, book->day);
    tr_mp_write_cstr(b, "trades");
    tr_mp_write_uint(b, book->trades);
    tr_mp_write_cstr(b, "positions");
    tr_mp_write_map(b, book->npositions);
    for (uint32_t i = 0; i < book->npositions; i++) {
        const tr_paper_position *p = &book->positions[i];
        tr_mp_write_cstr(b, p->symbol);
        tr_mp_write_map(b, 5);
        kv_double(b, "quantity", p->quantity);
        kv_double(b, "avg_price", p->avg_price);
        kv_double(b, "realized_pnl", p->realized_pnl);
        kv_double(b, "last_price", p->last_price);
        tr_mp_write_cstr(b, "trades");
        tr_mp_write_uint(b, p->trades);
    }
}

/* Optional finite number under key (absent: *out = 0). */
static int get_num(tr_mp_val map, const char *key, double *out)
{
    tr_mp_val v;
    *out = 0;
    int rc = tr_mp_map_get(map, key, &v);
    if (rc == TR_ENOENT)
        return 0;
    if (rc != 0 || tr_mp_get_double(v, out) != 0 || !isfinite(*out))
        return TR_EPROTO;
    return 0;
}

static int get_count(tr_mp_val map, const char *key, uint64_t *out)
{
    tr_mp_val v;
    *out = 0;
    int rc = tr_mp_map_get(map, key, &v);
    if (rc == TR_ENOENT)
        return 0;
    return rc == 0 && tr_mp_get_uint(v, out) == 0 ? 0 : TR_EPROTO;
}

static int read_position(tr_mp_val key, tr_mp_val v, tr_paper_position *p)
{
    const char *s;
    size_t len;
    if (tr_mp_get_str(key, &s, &len) != 0 || len == 0 || len >= TR_PAPER_SYMBOL_MAX ||
        memchr(s, '\0', len) != NULL || tr_mp_typeof(v) != TR_MP_MAP)
        return TR_EPROTO;
    memset(p, 0, sizeof *p);
    memcpy(p->symbol, s, len);
    if (get_num(v, "quantity", &p->quantity) || get_num(v, "avg_price", &p->avg_price) ||
        get_num(v, "realized_pnl", &p->realized_pnl) ||
        get_num(v, "last_price", &p->last_price) || get_count(v, "trades", &p->trades))
        return TR_EPROTO;
    return 0;
}

int tr_paper_book_read(tr_mp_val root, tr_paper_book *out)
{
    tr_paper_book tmp;
    tr_mp_val v, k;
    int64_t i64;
    if (out == NULL || tr_mp_typeof(root) != TR_MP_MAP)
        return TR_EPROTO;
    memset(&tmp, 0, sizeof tmp);
    if (tr_mp_map_get(root, "version", &v) != 0 || tr_mp_get_int(v, &i64) != 0 || i64 != 1)
        return TR_EPROTO;
    if (get_num(root, "realized_pnl", &tmp.realized_pnl) ||
        get_num(root, "daily_pnl", &tmp.daily_pnl) || get_count(root, "trades", &tmp.trades))
        return TR_EPROTO;
    if (tr_mp_map_get(root, "day", &v) == 0 && tr_mp_get_int(v, &tmp.day) != 0)
        return TR_EPROTO;
    int rc = tr_mp_map_get(root, "positions", &v);
    if (rc == 0) {
        tr_mp_iter it;
        tr_mp_val pv;
        if (tr_mp_iter_init(&it, v) != 0 || tr_mp_typeof(v) != TR_MP_MAP)
            return TR_EPROTO;
        while ((rc = tr_mp_iter_next(&it, &k, &pv)) > 0) {
            if (tmp.npositions >= TR_PAPER_MAX_SYMBOLS)
                return TR_EPROTO;
            tr_paper_position *p = &tmp.positions[tmp.npositions];
            if (read_position(k, pv, p) != 0 || find(&tmp, p->symbol) != NULL)
                return TR_EPROTO; /* bad or duplicate symbol */
            tmp.npositions++;
        }
        if (rc < 0)
            return TR_EPROTO;
    } else if (rc != TR_ENOENT) {
        return TR_EPROTO;
    }
    *out = tmp;
    return 0;
}

int tr_paper_book_to_json(tr_buf *out, const tr_paper_book *book)
{
    tr_buf mp;
    tr_buf_init(&mp);
    tr_paper_book_write(&mp, book);
    int rc = tr_buf_error(&mp);
    if (rc == 0)
        rc = tr_json_from_mp(out, mp.data, mp.len, NULL);
    tr_buf_fini(&mp);
    return rc;
}

int tr_paper_book_from_json(const char *text, size_t len, tr_paper_book *out)
{
    tr_buf mp;
    tr_mp_val root;
    tr_buf_init(&mp);
    int rc = tr_json_to_mp(&mp, text, len, NULL);
    if (rc == 0)
        rc = tr_mp_read(mp.data, mp.len, &root, NULL);
    if (rc == 0)
        rc = tr_paper_book_read(root, out);
    tr_buf_fini(&mp);
    return rc;
}
