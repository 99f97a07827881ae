#include "context.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

illume_context *illume_context_create(void) {
    illume_context *context = calloc(1, sizeof *context);
    return context;
}

void illume_context_destroy(illume_context *context) { free(context); }

const char *illume_last_error(const illume_context *context) { return context ? context->message : ""; }

void illume_set_threads(illume_context *context, int threads) {
    if (context) context->threads = threads > 0 ? threads : 0;
}

const char *illume_version(void) { return ILLUME_VERSION_STRING; }

const char *illume_status_name(illume_status status) {
    switch (status) {
    case ILLUME_OK: return "ok";
    case ILLUME_ERROR_INTERNAL: return "internal error";
    case ILLUME_ERROR_IO: return "input/output error";
    case ILLUME_ERROR_INVALID_MODEL: return "invalid model";
    case ILLUME_ERROR_UNSUPPORTED: return "unsupported model";
    case ILLUME_ERROR_INVALID_INPUT: return "invalid input";
    case ILLUME_ERROR_OUT_OF_MEMORY: return "out of memory";
    case ILLUME_ERROR_BACKEND: return "backend error";
    }
    return "unknown status";
}

illume_status illume_fail(illume_context *context, illume_status status, const char *format, ...) {
    if (context) {
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(context->message, sizeof context->message, format, arguments);
        va_end(arguments);
    }
    return status;
}

illume_status illume_wrap(illume_context *context, illume_status status, const char *format, ...) {
    if (context) {
        char previous[ILLUME_MESSAGE_SIZE];
        memcpy(previous, context->message, sizeof previous);
        va_list arguments;
        va_start(arguments, format);
        int length = vsnprintf(context->message, sizeof context->message, format, arguments);
        va_end(arguments);
        if (length >= 0 && (size_t)length + 2 < sizeof context->message) {
            size_t used = (size_t)length;
            memcpy(context->message + used, ": ", 2);
            used += 2;
            size_t room = sizeof context->message - used - 1;
            size_t copy = strlen(previous) < room ? strlen(previous) : room;
            memcpy(context->message + used, previous, copy);
            context->message[used + copy] = '\0';
        }
    }
    return status;
}
