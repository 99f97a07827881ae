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

matmul_plan matmul_plan_of(const matmul_desc *desc) {
    int rank = desc->rank;
    matmul_plan plan = {1, desc->y_dims[rank - 2], desc->y_dims[rank - 1],
                        desc->transpose_a ? desc->a_dims[rank - 2] : desc->a_dims[rank - 1]};
    for (int d = 0; d < rank - 2; d++) plan.batches *= desc->y_dims[d];
    return plan;
}

gemm_call matmul_batch_call(const matmul_desc *desc, const matmul_plan *plan, int64_t batch) {
    int rank = desc->rank;
    gemm_call call = {.transpose_first = desc->transpose_b, .transpose_second = desc->transpose_a,
                      .m = plan->columns, .n = plan->rows, .k = plan->inner,
                      .first_offset = batch_offset(rank, desc->y_dims, desc->b_dims, batch),
                      .second_offset = batch_offset(rank, desc->y_dims, desc->a_dims, batch),
                      .output_offset = batch * plan->rows * plan->columns,
                      .first_leading = desc->b_dims[rank - 1], .second_leading = desc->a_dims[rank - 1],
                      .output_leading = plan->columns};
    return call;
}
