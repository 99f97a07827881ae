/* The library context: the last error message and the thread setting. */
#ifndef ILLUME_CONTEXT_H
#define ILLUME_CONTEXT_H

#include "illume.h"

#define ILLUME_MESSAGE_SIZE 1024

struct illume_context {
    char message[ILLUME_MESSAGE_SIZE];
    int threads;
};

/* Records a formatted message on the context and returns status. A NULL
 * context is allowed: the message is then dropped. */
illume_status illume_fail(illume_context *context, illume_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefixes the context's message with a formatted location, keeping status. */
illume_status illume_wrap(illume_context *context, illume_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#define ILLUME_TRY(expression)                                                                                         \
    do {                                                                                                               \
        illume_status try_status_ = (expression);                                                                      \
        if (try_status_ != ILLUME_OK) return try_status_;                                                              \
    } while (0)

#endif
