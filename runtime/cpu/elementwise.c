/* Unary and broadcast binary ops as OpenMP loops over kernels/ math. */
#include "activation.h"
#include "binary.h"
#include "cpu_backend.h"
#include "strided.h"

#define PARALLEL_THRESHOLD 32768

illume_status cpu_unary(backend *self, const unary_desc *desc, const float *x, float *y) {
    (void)self;
    int64_t count = desc->count;
    unary_kind kind = desc->kind;
    float alpha = desc->alpha, beta = desc->beta;
    if (kind == UNARY_RELU) {
#pragma omp parallel for simd schedule(static) if (count > PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        return ILLUME_OK;
    }
#pragma omp parallel for schedule(static) if (count > PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < count; i++) y[i] = illume_unary(kind, alpha, beta, x[i]);
    return ILLUME_OK;
}

/* Merges neighbouring dimensions that both operands walk contiguously, so the
 * inner loop runs as long as possible. Returns the new rank. */
static int coalesce(int rank, int64_t *dims, int64_t *a, int64_t *b) {
    int out = 0;
    for (int d = 0; d < rank; d++) {
        if (dims[d] == 1) continue;
        if (out > 0 && a[out - 1] == a[d] * dims[d] && b[out - 1] == b[d] * dims[d]) {
            dims[out - 1] *= dims[d];
            a[out - 1] = a[d];
            b[out - 1] = b[d];
            continue;
        }
        dims[out] = dims[d];
        a[out] = a[d];
        b[out] = b[d];
        out++;
    }
    if (out == 0) {
        dims[0] = 1;
        a[0] = b[0] = 0;
        out = 1;
    }
    return out;
}

illume_status cpu_binary(backend *self, const binary_desc *desc, const float *a, const float *b, float *y) {
    (void)self;
    int64_t dims[ILLUME_MAX_RANK], a_strides[ILLUME_MAX_RANK], b_strides[ILLUME_MAX_RANK];
    int64_t total = 1;
    for (int d = 0; d < desc->rank; d++) {
        dims[d] = desc->dims[d];
        a_strides[d] = desc->a_strides[d];
        b_strides[d] = desc->b_strides[d];
        total *= dims[d];
    }
    if (total == 0) return ILLUME_OK;
    int rank = coalesce(desc->rank, dims, a_strides, b_strides);
    int64_t row = dims[rank - 1], a_step = a_strides[rank - 1], b_step = b_strides[rank - 1];
    int64_t rows = total / row;
    binary_kind kind = desc->kind;
#pragma omp parallel for schedule(static) if (total > PARALLEL_THRESHOLD)
    for (int64_t r = 0; r < rows; r++) {
        const float *pa = a + illume_strided_offset(rank - 1, dims, a_strides, r);
        const float *pb = b + illume_strided_offset(rank - 1, dims, b_strides, r);
        float *py = y + r * row;
        if (a_step == 1 && b_step == 1 && kind == BINARY_ADD) {
#pragma omp simd
            for (int64_t i = 0; i < row; i++) py[i] = pa[i] + pb[i];
        } else if (a_step == 1 && b_step == 0 && kind == BINARY_MUL) {
            float scale = pb[0];
#pragma omp simd
            for (int64_t i = 0; i < row; i++) py[i] = pa[i] * scale;
        } else {
            for (int64_t i = 0; i < row; i++) py[i] = illume_binary(kind, pa[i * a_step], pb[i * b_step]);
        }
    }
    return ILLUME_OK;
}
