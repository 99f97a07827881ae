/* Picks a backend by device name. */
#include <string.h>

#include "backend.h"
#include "context.h"

backend *backend_create(illume_context *context, const char *device) {
    if (strcmp(device, "cpu") == 0 || strcmp(device, "auto") == 0) return cpu_backend_create(context);
    if (strncmp(device, "cuda", 4) == 0)
        illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "device '%s': this build has no CUDA backend", device);
    else
        illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "unknown device '%s' (expected cpu, cuda, cuda:N or auto)",
                    device);
    return NULL;
}
