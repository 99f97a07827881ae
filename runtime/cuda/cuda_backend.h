/* The CUDA backend's entry points (runtime/cuda/cuda_backend.c), present
 * when the build has it (ILLUME_HAVE_CUDA). */
#ifndef ILLUME_CUDA_BACKEND_H
#define ILLUME_CUDA_BACKEND_H

#include "backend.h"

/* The CUDA backend on device `device`, or NULL with the context's error set. */
backend *cuda_backend_create(illume_context *context, int device, backend_options options);
/* CUDA devices the runtime sees (0 without a driver or a GPU). */
int cuda_device_count(void);
/* The most device memory the process has held through the backend (runtime/cuda/memory.c). */
size_t cuda_memory_peak(void);

#endif
