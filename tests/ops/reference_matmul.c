/* Gemm and MatMul as triple loops with double accumulation. */
#include "reference.h"

illume_tensor reference_gemm(const illume_tensor *a, const illume_tensor *b, const illume_tensor *c, int trans_a,
                             int trans_b, float alpha, float beta) {
    int64_t m = trans_a ? a->dims[1] : a->dims[0], k = trans_a ? a->dims[0] : a->dims[1];
    int64_t n = trans_b ? b->dims[0] : b->dims[1];
    int64_t y_dims[2] = {m, n};
    illume_tensor y = reference_tensor(2, y_dims);
    const float *as = a->data, *bs = b->data, *cs = c ? c->data : NULL;
    float *ys = y.data;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double sum = 0.0;
            for (int64_t p = 0; p < k; p++) {
                double left = trans_a ? as[p * m + i] : as[i * k + p];
                double right = trans_b ? bs[j * k + p] : bs[p * n + j];
                sum += left * right;
            }
            double value = (double)alpha * sum;
            if (c) {
                /* C broadcasts unidirectionally to (M, N): right-aligned, size-1 dims repeat. */
                int64_t row = 0, column = 0;
                if (c->rank == 2) {
                    row = c->dims[0] == 1 ? 0 : i;
                    column = c->dims[1] == 1 ? 0 : j;
                    value += (double)beta * cs[row * c->dims[1] + column];
                } else if (c->rank == 1) {
                    value += (double)beta * cs[c->dims[0] == 1 ? 0 : j];
                } else {
                    value += (double)beta * cs[0];
                }
            }
            ys[i * n + j] = (float)value;
        }
    return y;
}

illume_tensor reference_matmul(const illume_tensor *a, const illume_tensor *b) {
    /* numpy matmul: a 1-D left operand gains a leading 1, a 1-D right operand a
     * trailing 1, both removed from the result; batch dims broadcast. */
    int64_t a_dims[ILLUME_MAX_RANK] = {0}, b_dims[ILLUME_MAX_RANK] = {0};
    int a_rank = a->rank, b_rank = b->rank;
    if (a_rank == 1) {
        a_dims[0] = 1;
        a_dims[1] = a->dims[0];
        a_rank = 2;
    } else {
        for (int d = 0; d < a_rank; d++) a_dims[d] = a->dims[d];
    }
    if (b_rank == 1) {
        b_dims[0] = b->dims[0];
        b_dims[1] = 1;
        b_rank = 2;
    } else {
        for (int d = 0; d < b_rank; d++) b_dims[d] = b->dims[d];
    }
    int batch_rank = (a_rank > b_rank ? a_rank : b_rank) - 2;
    int64_t batch_dims[ILLUME_MAX_RANK];
    for (int d = 0; d < batch_rank; d++) {
        int ka = d - (batch_rank - (a_rank - 2)), kb = d - (batch_rank - (b_rank - 2));
        int64_t da = ka < 0 ? 1 : a_dims[ka], db = kb < 0 ? 1 : b_dims[kb];
        batch_dims[d] = da == 1 ? db : da;
    }
    int64_t m = a_dims[a_rank - 2], k = a_dims[a_rank - 1], n = b_dims[b_rank - 1];
    int64_t y_dims[ILLUME_MAX_RANK];
    int y_rank = 0;
    for (int d = 0; d < batch_rank; d++) y_dims[y_rank++] = batch_dims[d];
    if (a->rank > 1) y_dims[y_rank++] = m;
    if (b->rank > 1) y_dims[y_rank++] = n;
    illume_tensor y = reference_tensor(y_rank, y_dims);
    int64_t batches = 1;
    for (int d = 0; d < batch_rank; d++) batches *= batch_dims[d];
    const float *as = a->data, *bs = b->data;
    float *ys = y.data;
    for (int64_t batch = 0; batch < batches; batch++) {
        int64_t at[ILLUME_MAX_RANK];
        reference_coordinates(batch_rank, batch_dims, batch, at);
        /* The matrix of each operand at these batch coordinates. */
        int64_t a_matrix = 0, b_matrix = 0;
        for (int d = 0; d < a_rank - 2; d++) {
            int64_t coordinate = a_dims[d] == 1 ? 0 : at[d + batch_rank - (a_rank - 2)];
            a_matrix = a_matrix * a_dims[d] + coordinate;
        }
        for (int d = 0; d < b_rank - 2; d++) {
            int64_t coordinate = b_dims[d] == 1 ? 0 : at[d + batch_rank - (b_rank - 2)];
            b_matrix = b_matrix * b_dims[d] + coordinate;
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double sum = 0.0;
                for (int64_t p = 0; p < k; p++)
                    sum += (double)as[(a_matrix * m + i) * k + p] * (double)bs[(b_matrix * k + p) * n + j];
                ys[(batch * m + i) * n + j] = (float)sum;
            }
    }
    return y;
}
