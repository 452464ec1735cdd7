/* runtime/error.c -- tr_strerror / tr_err_name from the TR_ERRNO_MAP table. */
#include "troupe/error.h"

const char *tr_strerror(int err)
{
    switch (err) {
    case TR_OK:
        return "success";
#define XX(name, value, msg)                                                   \
    case TR_##name:                                                            \
        return msg;
        TR_ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

const char *tr_err_name(int err)
{
    switch (err) {
    case TR_OK:
        return "OK";
#define XX(name, value, msg)                                                   \
    case TR_##name:                                                            \
        return #name;
        TR_ERRNO_MAP(XX)
#undef XX
    default:
        return "UNKNOWN";
    }
}

