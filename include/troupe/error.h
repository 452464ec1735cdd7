/*
 * troupe/error.h -- error codes shared by every troupe API.
 *
 * Convention (libuv's): a function that can fail returns an int; 0 is success,
 * a negative value is one of the TR_E* codes below, and a non-negative value
 * other than 0 is a count where the function documents one.  A function that
 * takes a callback and returns an error never calls that callback.
 *
 * Where the *message* matters (a workflow definition, a configuration file, a
 * malformed msgpack or JSON document) the API also fills a caller-supplied
 * detail structure; the code alone is then the category of the problem.
 */
#ifndef TROUPE_ERROR_H
#define TROUPE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define TR_EXTERN __declspec(dllexport)
#elif defined(__GNUC__)
#define TR_EXTERN __attribute__((visibility("default")))
#else
#define TR_EXTERN
#endif

/* XX(name, value, message).  Values are stable: never renumber. */
#define TR_ERRNO_MAP(XX)                                                       \
    XX(EINVAL, -1, "invalid argument")                                         \
    XX(ENOMEM, -2, "out of memory")                                            \
    XX(EFULL, -3, "mailbox or queue is full")                                  \
    XX(EDEAD, -4, "actor is not alive (dead letter)")                          \
    XX(ECLOSED, -5, "runtime or object is closed")                             \
    XX(ETIMEDOUT, -6, "operation timed out")                                   \
    XX(EHALTED, -7, "refused by the emergency controller")                     \
    XX(EPROTO, -8, "protocol or encoding error")                               \
    XX(ENOENT, -9, "no such item")                                             \
    XX(EEXIST, -10, "item already exists")                                     \
    XX(ESTATE, -11, "operation not allowed in the current state")             \
    XX(EIO, -12, "input/output error")                                         \
    XX(ERANGE, -13, "value out of range")                                      \
    XX(ESYS, -14, "system call failed")                                        \
    XX(EFAILED, -15, "actor failed")                                           \
    XX(ELIMIT, -16, "limit exceeded")                                          \
    XX(ETOOBIG, -17, "payload too large")                                      \
    XX(EAGAIN, -18, "resource temporarily unavailable")

typedef enum tr_err {
    TR_OK = 0,
#define TR__ERR_ENUM(name, value, msg) TR_##name = (value),
    TR_ERRNO_MAP(TR__ERR_ENUM)
#undef TR__ERR_ENUM
} tr_err;

/* A static, human-readable message for an error code ("unknown error" for
 * values outside the table).  Never NULL; safe from any thread. */
TR_EXTERN const char *tr_strerror(int err);

/* The code's name without the TR_ prefix ("EFULL"), or "OK"/"UNKNOWN".
 * Never NULL; safe from any thread. */
TR_EXTERN const char *tr_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_ERROR_H */
