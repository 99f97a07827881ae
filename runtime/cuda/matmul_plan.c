#include "matmul_plan.h"

/* The offset of batch matrix `index` of y in an operand of the given
 * stored dims (padded to rank), whose batch dims may broadcast (size 1). */
static int64_t batch_offset(int rank, const int64_t *y_dims, const int64_t *dims, int64_t index) {
    int64_t offset = 0, stride = dims[rank - 1] * dims[rank - 2];
    for (int d = rank - 3; d >= 0; d--) {
        int64_t coordinate = index % y_dims[d];
        index /= y_dims[d];
        if (dims[d] != 1) offset += coordinate * stride;
        stride *= dims[d];
    }
    return offset;
}

/* The step between an operand's batch matrices when its offsets step
 * evenly: the matrix size when no batch dim broadcasts, 0 when all do; -1
 * otherwise. */
static int64_t batch_stride(int rank, const int64_t *y_dims, const int64_t *dims) {
    int broadcast = 0, kept = 0;
    for (int d = 0; d < rank - 2; d++) {
        if (y_dims[d] == 1) continue;
        if (dims[d] == 1) broadcast = 1;
        else kept = 1;
    }
    if (broadcast && kept) return -1;
    return broadcast ? 0 : dims[rank - 1] * dims[rank - 2];
}

matmul_plan matmul_plan_of(const matmul_desc *desc) {
    int rank = desc->rank;
    matmul_plan plan = {1, desc->y_dims[rank - 2], desc->y_dims[rank - 1],
                        desc->transpose_a ? desc->a_dims[rank - 2] : desc->a_dims[rank - 1], 1};
    for (int d = 0; d < rank - 2; d++) plan.batches *= desc->y_dims[d];
    int even = batch_stride(rank, desc->y_dims, desc->a_dims) >= 0 &&
               batch_stride(rank, desc->y_dims, desc->b_dims) >= 0;
    plan.calls = even ? 1 : plan.batches;
    return plan;
}

gemm_call matmul_call(const matmul_desc *desc, const matmul_plan *plan, int64_t index) {
    int rank = desc->rank;
    int64_t matrix = plan->rows * plan->columns;
    gemm_call call = {.transpose_first = desc->transpose_b, .transpose_second = desc->transpose_a,
                      .m = plan->columns, .n = plan->rows, .k = plan->inner,
                      .first_offset = batch_offset(rank, desc->y_dims, desc->b_dims, index),
                      .second_offset = batch_offset(rank, desc->y_dims, desc->a_dims, index),
                      .output_offset = index * matrix,
                      .first_leading = desc->b_dims[rank - 1], .second_leading = desc->a_dims[rank - 1],
                      .output_leading = plan->columns, .batch_count = 1};
    if (plan->calls == 1) {
        call.batch_count = plan->batches;
        call.first_stride = batch_stride(rank, desc->y_dims, desc->b_dims);
        call.second_stride = batch_stride(rank, desc->y_dims, desc->a_dims);
        call.output_stride = matrix;
    }
    return call;
}
