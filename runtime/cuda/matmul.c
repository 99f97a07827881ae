/* Matrix products on cuBLAS: row-major y = alpha op(a) op(b) + beta y
 * computed as column-major y^T = op(b)^T op(a)^T (the same bytes), one
 * cublasSgemm per batch matrix with numpy batch broadcasting, then the bias
 * added along the last axis by the binary kernel. cuBLAS runs in its
 * default math (no TF32) unless the backend is fast (cuda_backend_create
 * sets the handle's math mode). */
#include "context.h"
#include "cuda_private.h"

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

static int fits_int(const matmul_desc *desc) {
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
    int rank = desc->rank;
    if (!fits_int(desc)) return cuda_missing(self, "matrix products this large");
    int64_t rows = desc->y_dims[rank - 2], columns = desc->y_dims[rank - 1];
    int64_t inner = desc->transpose_a ? desc->a_dims[rank - 2] : desc->a_dims[rank - 1];
    int64_t batches = 1;
    for (int d = 0; d < rank - 2; d++) batches *= desc->y_dims[d];
    cublasOperation_t op_a = desc->transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t op_b = desc->transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    int64_t outputs = batches * rows * columns;
    if (outputs == 0) return ILLUME_OK;
    if (inner == 0) {
        /* An empty product leaves beta y, as on the CPU; cuBLAS would refuse
         * the leading dimension of 0 an empty operand has. */
        unary_desc scale = {.kind = UNARY_LINEAR, .alpha = desc->beta, .count = outputs};
        ILLUME_TRY(desc->beta == 0.0f ? self->fill(self, 0.0f, outputs, y) : self->unary(self, &scale, y, y));
    }
    int lda = (int)desc->a_dims[rank - 1], ldb = (int)desc->b_dims[rank - 1];
    for (int64_t batch = 0; inner > 0 && batch < batches; batch++) {
        const float *a_matrix = a + batch_offset(rank, desc->y_dims, desc->a_dims, batch);
        const float *b_matrix = b + batch_offset(rank, desc->y_dims, desc->b_dims, batch);
        float *y_matrix = y + batch * rows * columns;
        ILLUME_TRY(cublas_check(self,
                                cublasSgemm(cuda->cublas, op_b, op_a, (int)columns, (int)rows, (int)inner,
                                            &desc->alpha, b_matrix, ldb, a_matrix, lda, &desc->beta, y_matrix,
                                            (int)columns),
                                "cublasSgemm"));
    }
    if (!desc->has_bias || !bias) return ILLUME_OK;
    binary_desc add = {.kind = BINARY_ADD, .rank = 2, .dims = {batches * rows, columns}, .a_strides = {columns, 1},
                       .b_strides = {0, 1}};
    return self->binary(self, &add, y, bias, y);
}
