/* Picks a backend by device name: cpu, cuda, cuda:N, or auto. "auto" is
 * the CPU until the CUDA backend, which runs every op, has been verified on
 * a GPU (docs/gpu.md). The CPU backend has no options: oneDNN
 * is deterministic and does not use TF32 on float data. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "context.h"
#ifdef ILLUME_HAVE_CUDA
#include "cuda_backend.h"
#endif

int illume_has_cuda(void) {
#ifdef ILLUME_HAVE_CUDA
    return 1;
#else
    return 0;
#endif
}

int illume_cuda_devices(void) {
#ifdef ILLUME_HAVE_CUDA
    return cuda_device_count();
#else
    return 0;
#endif
}

size_t illume_cuda_peak_bytes(void) {
#ifdef ILLUME_HAVE_CUDA
    return cuda_memory_peak();
#else
    return 0;
#endif
}

/* The device index of "cuda" (0) or "cuda:N", or -1 when the name is neither. */
static int cuda_index(const char *device) {
    if (strcmp(device, "cuda") == 0) return 0;
    if (strncmp(device, "cuda:", 5) != 0 || device[5] < '0' || device[5] > '9') return -1;
    char *end;
    long index = strtol(device + 5, &end, 10);
    return *end == '\0' && index <= 4096 ? (int)index : -1;
}

backend *backend_create(illume_context *context, const char *device) {
    backend_options defaults = {0};
    return backend_create_with_options(context, device, defaults);
}

backend *backend_create_with_options(illume_context *context, const char *device, backend_options options) {
    if (strcmp(device, "cpu") == 0 || strcmp(device, "auto") == 0) return cpu_backend_create(context, options);
    int index = cuda_index(device);
    if (index < 0) {
        illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "unknown device '%s' (expected cpu, cuda, cuda:N or auto)",
                    device);
        return NULL;
    }
#ifdef ILLUME_HAVE_CUDA
    return cuda_backend_create(context, index, options);
#else
    (void)options;
    illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "device '%s': this build has no CUDA backend", device);
    return NULL;
#endif
}
