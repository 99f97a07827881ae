/* What the library knows of other versions of include/illume.h: its API
 * version, and which sizes of the option structs it takes. */
#ifndef ILLUME_API_VERSION_H
#define ILLUME_API_VERSION_H

#include "context.h"

/* Copies the option struct a caller gave (`type` names it; its first field
 * is its size) over `accepted`, this library's struct of `accepted_size`
 * bytes holding the defaults, when the caller's size is one the library
 * knows (include/illume.h, "Option structs"); else fails with
 * ILLUME_ERROR_INVALID_INPUT and a message. */
illume_status options_accept(illume_context *context, const char *type, const void *given, void *accepted,
                             size_t accepted_size);

#endif
