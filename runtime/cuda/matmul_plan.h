/* The cuBLAS calls of a matrix product (runtime/cuda/matmul.c), apart from
 * cuBLAS so that the CPU tests run them: row-major y = alpha op(a) op(b) +
 * beta y is, in cuBLAS's column-major terms, y^T = op(b)^T op(a)^T on the
 * same bytes, batch dims broadcast as numpy's: one strided-batched Sgemm
 * where the batches allow it, else one Sgemm per batch matrix. */
#ifndef ILLUME_CUDA_MATMUL_PLAN_H
#define ILLUME_CUDA_MATMUL_PLAN_H

#include <stdint.h>

#include "backend.h"

/* Column-major Sgemms: for each of batch_count matrices (offsets stepping
 * by the strides), C (m x n, ldc) = alpha op(A) op(B) + beta C, A being b's
 * matrix and B a's; offsets and strides are in floats. */
typedef struct gemm_call {
    int transpose_first, transpose_second; /* op(A), op(B) */
    int64_t m, n, k;
    int64_t first_offset, second_offset, output_offset;
    int64_t first_leading, second_leading, output_leading;
    int64_t batch_count, first_stride, second_stride, output_stride;
} gemm_call;

typedef struct matmul_plan {
    int64_t batches, rows, columns, inner;
    /* One strided-batched call for every batch when each operand's batch
     * offsets step evenly (it is not broadcast, or broadcast whole), else
     * one call per batch. */
    int64_t calls;
} matmul_plan;

matmul_plan matmul_plan_of(const matmul_desc *desc);
gemm_call matmul_call(const matmul_desc *desc, const matmul_plan *plan, int64_t index);

#endif
