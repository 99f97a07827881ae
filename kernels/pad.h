/* Per-element math of Pad: which input coordinate an output coordinate reads.
 * Shared by the CPU backend and the CUDA kernels. */
#ifndef ILLUME_KERNELS_PAD_H
#define ILLUME_KERNELS_PAD_H

#include <stdint.h>

#include "backend.h"
#include "device.h"

/* The input coordinate for coordinate i (already shifted by the begin pad) of
 * an axis of length n, or -1 where constant mode writes the pad value. */
ILLUME_INLINE int64_t illume_pad_source(pad_mode mode, int64_t i, int64_t n) {
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case PAD_CONSTANT: return -1;
    case PAD_EDGE: return i < 0 ? 0 : n - 1;
    case PAD_REFLECT: {
        if (n == 1) return 0;
        int64_t period = 2 * (n - 1);
        int64_t r = i % period;
        if (r < 0) r += period;
        return r < n ? r : period - r;
    }
    case PAD_WRAP: {
        int64_t r = i % n;
        return r < 0 ? r + n : r;
    }
    }
    return -1;
}

#endif
