/* Unary and broadcast binary ops as OpenMP loops over kernels/ math. */
#include "activation.h"
#include "binary.h"
#include "cpu_backend.h"
#include "strided.h"

#define PARALLEL_THRESHOLD 32768

/* One loop per kind, each with the kind a constant: the compiler then
 * inlines that kind's math alone and vectorizes the loop where the math
 * allows (a switch inside the loop kept every kind scalar). */
#define UNARY_CASE(kind_value)                                                                                   \
    case kind_value:                                                                                             \
        _Pragma("omp parallel for simd schedule(static) if (count > PARALLEL_THRESHOLD)")                        \
        for (int64_t i = 0; i < count; i++) y[i] = illume_unary(kind_value, alpha, beta, x[i]);                  \
        break;

illume_status cpu_unary(backend *self, const unary_desc *desc, const float *x, float *y) {
    (void)self;
    int64_t count = desc->count;
    float alpha = desc->alpha, beta = desc->beta;
    switch (desc->kind) {
        UNARY_CASE(UNARY_COPY)
        UNARY_CASE(UNARY_RELU)
        UNARY_CASE(UNARY_LEAKY_RELU)
        UNARY_CASE(UNARY_SIGMOID)
        UNARY_CASE(UNARY_TANH)
        UNARY_CASE(UNARY_HARD_SIGMOID)
        UNARY_CASE(UNARY_HARD_SWISH)
        UNARY_CASE(UNARY_ELU)
        UNARY_CASE(UNARY_CLIP)
        UNARY_CASE(UNARY_LINEAR)
        UNARY_CASE(UNARY_ABS)
        UNARY_CASE(UNARY_SWISH)
        UNARY_CASE(UNARY_ERF)
        UNARY_CASE(UNARY_EXP)
        UNARY_CASE(UNARY_LOG)
        UNARY_CASE(UNARY_SQRT)
        UNARY_CASE(UNARY_RECIPROCAL)
        UNARY_CASE(UNARY_SIGN)
    }
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

/* As UNARY_CASE: a row's loop per kind and per operand walk (contiguous,
 * broadcast, strided), each with its math inlined alone. */
#define BINARY_ROWS(kind_value)                                                                                  \
    case kind_value:                                                                                             \
        if (a_step == 1 && b_step == 1) {                                                                        \
            _Pragma("omp simd") for (int64_t i = 0; i < row; i++) y[i] = illume_binary(kind_value, a[i], b[i]);  \
        } else if (a_step == 1 && b_step == 0) {                                                                 \
            _Pragma("omp simd") for (int64_t i = 0; i < row; i++) y[i] = illume_binary(kind_value, a[i], b[0]);  \
        } else if (a_step == 0 && b_step == 1) {                                                                 \
            _Pragma("omp simd") for (int64_t i = 0; i < row; i++) y[i] = illume_binary(kind_value, a[0], b[i]);  \
        } else {                                                                                                 \
            for (int64_t i = 0; i < row; i++) y[i] = illume_binary(kind_value, a[i * a_step], b[i * b_step]);    \
        }                                                                                                        \
        break;

static void binary_row(binary_kind kind, const float *a, int64_t a_step, const float *b, int64_t b_step, float *y,
                       int64_t row) {
    switch (kind) {
        BINARY_ROWS(BINARY_ADD)
        BINARY_ROWS(BINARY_SUB)
        BINARY_ROWS(BINARY_MUL)
        BINARY_ROWS(BINARY_DIV)
        BINARY_ROWS(BINARY_PRELU)
        BINARY_ROWS(BINARY_POW)
        BINARY_ROWS(BINARY_MAX)
        BINARY_ROWS(BINARY_MIN)
    }
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
        binary_row(kind, pa, a_step, pb, b_step, py, row);
    }
    return ILLUME_OK;
}
