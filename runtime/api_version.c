#include "api_version.h"

#include <string.h>

int illume_api_version(void) { return ILLUME_API_VERSION; }

illume_status options_accept(illume_context *context, const char *type, const void *given, void *accepted,
                             size_t accepted_size) {
    size_t size;
    memcpy(&size, given, sizeof size);
    if (size == 0)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                           "%s has size 0: make it with %s_default, which sets its size and defaults", type, type);
    if (size > accepted_size)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                           "%s of %zu bytes is larger than this library's (%zu bytes, API version %d): the program "
                           "was built against a newer illume.h than the library",
                           type, size, accepted_size, ILLUME_API_VERSION);
    /* Every size an illume.h gave the struct is known. The size field came
     * with API version 1, whose struct is this library's, so no smaller one
     * is known yet; a version that adds fields accepts the sizes before it
     * here, and the copy below leaves the fields they lack at their defaults. */
    if (size != accepted_size)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                           "%s of %zu bytes is no size an illume.h gave it (this library's is %zu bytes): was its "
                           "size set by %s_default?",
                           type, size, accepted_size, type);
    memcpy(accepted, given, size);
    return ILLUME_OK;
}
