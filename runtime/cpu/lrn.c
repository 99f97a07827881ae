/* Local response normalization (ONNX LRN) and its backward pass, an
 * element at a time through kernels/lrn.h. Not oneDNN's LRN primitive:
 * its across-channel window is centred, (size - 1) / 2 channels each side
 * in integer division, so that for an even size it sums size - 1 channels
 * where ONNX's sums size, one more after the channel. */
#include "cpu_backend.h"
#include "lrn.h"

/* Each element sums a window of squares and takes a power: worth threads sooner than an element-wise op. */
#define PARALLEL_THRESHOLD 4096

illume_status cpu_lrn(backend *self, const lrn_desc *desc, const float *x, float *y) {
    (void)self;
    int64_t count = desc->batch * desc->channels * desc->spatial;
#pragma omp parallel for schedule(static) if (count > PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < count; i++) y[i] = illume_lrn(desc, x, i);
    return ILLUME_OK;
}

illume_status cpu_lrn_backward(backend *self, const lrn_desc *desc, const float *x, const float *dy, float *terms,
                               float *dx) {
    (void)self;
    int64_t count = desc->batch * desc->channels * desc->spatial;
#pragma omp parallel for schedule(static) if (count > PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < count; i++) terms[i] = illume_lrn_term(desc, x, dy, i);
#pragma omp parallel for schedule(static) if (count > PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < count; i++) dx[i] = illume_lrn_gradient(desc, x, dy, terms, i);
    return ILLUME_OK;
}
