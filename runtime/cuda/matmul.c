/* Matrix products on cuBLAS: row-major y = alpha op(a) op(b) + beta y
 * computed as column-major y^T = op(b)^T op(a)^T (the same bytes), with
 * numpy batch broadcasting: one cublasSgemmStridedBatched where each
 * operand's batches step evenly, else one cublasSgemm per batch matrix (the
 * calls: matmul_plan.c), then the bias
 * added along the last axis by the binary kernel. cuBLAS runs in its
 * default math (no TF32) unless the backend is fast (cuda_backend_create
 * sets the handle's math mode). */
#include "context.h"
#include "cuda_private.h"
#include "matmul_plan.h"

static int fits_int(const matmul_desc *desc) {
    int64_t batches = 1;
    for (int d = 0; d < desc->rank - 2; d++) batches *= desc->y_dims[d];
    if (batches >= ((int64_t)1 << 31)) return 0;
    for (int d = 0; d < desc->rank; d++)
        if (desc->a_dims[d] >= ((int64_t)1 << 31) || desc->b_dims[d] >= ((int64_t)1 << 31) ||
            desc->y_dims[d] >= ((int64_t)1 << 31))
            return 0;
    return 1;
}

illume_status cuda_matmul(backend *self, const matmul_desc *desc, void **state, const float *a, const float *b,
                          const float *bias, float *y) {
    CUDA_USE_DEVICE(self);
    (void)state;
    cuda_backend *cuda = (cuda_backend *)self;
    if (!fits_int(desc)) return cuda_missing(self, "matrix products this large");
    matmul_plan plan = matmul_plan_of(desc);
    int64_t outputs = plan.batches * plan.rows * plan.columns;
    if (outputs == 0) return ILLUME_OK;
    if (plan.inner == 0) {
        /* An empty product leaves beta y, as on the CPU; cuBLAS would refuse
         * the leading dimension of 0 an empty operand has. */
        unary_desc scale = {.kind = UNARY_LINEAR, .alpha = desc->beta, .count = outputs};
        ILLUME_TRY(desc->beta == 0.0f ? self->fill(self, 0.0f, outputs, y) : self->unary(self, &scale, y, y));
    }
    if (plan.inner > 0) ILLUME_TRY(cuda_cublas(cuda));
    for (int64_t index = 0; plan.inner > 0 && index < plan.calls; index++) {
        gemm_call call = matmul_call(desc, &plan, index);
        cublasOperation_t first = call.transpose_first ? CUBLAS_OP_T : CUBLAS_OP_N;
        cublasOperation_t second = call.transpose_second ? CUBLAS_OP_T : CUBLAS_OP_N;
        cublasStatus_t status =
            call.batch_count == 1
                ? cublasSgemm(cuda->cublas, first, second, (int)call.m, (int)call.n, (int)call.k, &desc->alpha,
                              b + call.first_offset, (int)call.first_leading, a + call.second_offset,
                              (int)call.second_leading, &desc->beta, y + call.output_offset, (int)call.output_leading)
                : cublasSgemmStridedBatched(cuda->cublas, first, second, (int)call.m, (int)call.n, (int)call.k,
                                            &desc->alpha, b + call.first_offset, (int)call.first_leading,
                                            call.first_stride, a + call.second_offset, (int)call.second_leading,
                                            call.second_stride, &desc->beta, y + call.output_offset,
                                            (int)call.output_leading, call.output_stride, (int)call.batch_count);
        ILLUME_TRY(cublas_check(self, status, call.batch_count == 1 ? "cublasSgemm" : "cublasSgemmStridedBatched"));
    }
    if (!desc->has_bias || !bias) return ILLUME_OK;
    binary_desc add = {.kind = BINARY_ADD, .rank = 2, .dims = {plan.batches * plan.rows, plan.columns},
                       .a_strides = {plan.columns, 1}, .b_strides = {0, 1}};
    return self->binary(self, &add, y, bias, y);
}
