/* DeepLIFT's element-wise steps as OpenMP loops over kernels/rescale.h. */
#include "cpu_backend.h"
#include "rescale.h"

#define PARALLEL_THRESHOLD 32768

illume_status cpu_deeplift(backend *self, deeplift_step step, int64_t half, const float *x, const float *y,
                           const float *dy, float *dx) {
    (void)self;
    switch (step) {
    case DEEPLIFT_RESCALE:
#pragma omp parallel for schedule(static) if (half > PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < half; i++) {
            if (!illume_deeplift_differs(x[i], x[i + half])) continue;
            dx[i] = illume_deeplift_rescale(x[i], x[i + half], y[i], y[i + half], dy[i]);
            dx[i + half] = illume_deeplift_rescale(x[i], x[i + half], y[i], y[i + half], dy[i + half]);
        }
        return ILLUME_OK;
    case DEEPLIFT_POOL_PARTS:
#pragma omp parallel for schedule(static) if (half > PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < half; i++) {
            dx[i] = illume_deeplift_pool_input_part(y[i], y[i + half], dy[i]);
            dx[i + half] = illume_deeplift_pool_reference_part(y[i], y[i + half], dy[i + half]);
        }
        return ILLUME_OK;
    case DEEPLIFT_POOL_COMBINE:
#pragma omp parallel for schedule(static) if (half > PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < half; i++) {
            if (!illume_deeplift_differs(x[i], x[i + half])) continue;
            dx[i] = dx[i + half] = (y[i] + y[i + half]) / (x[i] - x[i + half]);
        }
        return ILLUME_OK;
    }
    return ILLUME_OK;
}
