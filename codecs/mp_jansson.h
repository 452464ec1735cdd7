/*
 * codecs/mp_jansson.h -- msgpack <-> jansson trees, for troupe's own modules.
 *
 * Private: the public headers never show jansson.  Modules that already hold
 * a json_t (configuration, workflow definitions, the HTTP API) convert here
 * instead of printing and re-parsing text.  Same rules as tr_json_* in
 * troupe/codec.h: integers stay integers, reals stay doubles, nesting is
 * limited to TR_CODEC_MAX_DEPTH.  Thread safety: as jansson's (a json_t may
 * be read by several threads only if nobody changes it or its refcount).
 */
#ifndef TROUPE_CODECS_MP_JANSSON_H
#define TROUPE_CODECS_MP_JANSSON_H

#include <jansson.h>

#include "troupe/codec.h"

/* Append j as one msgpack value to w.  j is only read (borrowed).  Object
 * keys keep jansson's order (insertion order).  Returns TR_OK, TR_EPROTO
 * (nesting deeper than TR_CODEC_MAX_DEPTH) or w's sticky error (TR_ENOMEM,
 * TR_ETOOBIG); w->len is restored to its value on entry on failure. */
int tr__mp_from_jansson(tr_buf *w, const json_t *j);

/* A new jansson tree (a new reference: the caller json_decref's it) for the
 * msgpack value v.  Strings are copied, with invalid UTF-8 replaced by
 * U+FFFD; NaN and infinities become null; bin is a base64 string and ext an
 * {"ext","data"} object; non-string map keys become their JSON text (the
 * printer's rules).  On failure returns NULL and, if err is not NULL, sets
 * *err to TR_EPROTO (malformed or too deep), TR_ERANGE (an unsigned integer
 * above INT64_MAX, which jansson cannot hold) or TR_ENOMEM. */
json_t *tr__mp_to_jansson(tr_mp_val v, int *err);

#endif /* TROUPE_CODECS_MP_JANSSON_H */
