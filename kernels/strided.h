/* Index arithmetic for strided and broadcast tensors, shared by the CPU
 * backend, the constant folder and the CUDA kernels. */
#ifndef ILLUME_KERNELS_STRIDED_H
#define ILLUME_KERNELS_STRIDED_H

#include <stdint.h>

#include "device.h"

/* The offset of the element with row-major position `index` in a tensor of
 * `dims`, read through `strides` (in elements). */
ILLUME_INLINE int64_t illume_strided_offset(int rank, const int64_t *dims, const int64_t *strides, int64_t index) {
    int64_t offset = 0;
    for (int d = rank - 1; d >= 0; d--) {
        int64_t coordinate = index % dims[d];
        index /= dims[d];
        offset += coordinate * strides[d];
    }
    return offset;
}

#endif
