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
    case DEEPLIFT_DIFFERENCE:
#pragma omp parallel for schedule(static) if (half > PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < half; i++) dx[i] = dx[i + half] = x[i] - x[i + half];
        return ILLUME_OK;
    case DEEPLIFT_POSITIVE_SHARE:
    case DEEPLIFT_NEGATIVE_SHARE: {
        float sign = step == DEEPLIFT_POSITIVE_SHARE ? 1.0f : -1.0f;
#pragma omp parallel for schedule(static) if (half > PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < 2 * half; i++) dx[i] = x[i] * sign > 0.0f ? 1.0f : x[i] == 0.0f ? 0.5f : 0.0f;
        return ILLUME_OK;
    }
    }
    return ILLUME_OK;
}

illume_status cpu_reveal_cancel(backend *self, const reveal_cancel_desc *desc, const float *x, const float *positive,
                                const float *negative, const float *dy, float *positive_gradient,
                                float *negative_gradient) {
    (void)self;
    int64_t half = desc->half;
#pragma omp parallel for schedule(static) if (half > PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < half; i++) {
        float up, down;
        illume_reveal_cancel(desc->kind, desc->alpha, desc->beta, x[i], x[i + half], positive[i], negative[i], &up,
                             &down);
        positive_gradient[i] = dy[i] * up;
        negative_gradient[i] = dy[i] * down;
        positive_gradient[i + half] = dy[i + half] * up;
        negative_gradient[i + half] = dy[i + half] * down;
    }
    return ILLUME_OK;
}
