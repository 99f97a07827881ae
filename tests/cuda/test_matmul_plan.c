/* test_matmul_plan: the cuBLAS calls the CUDA backend makes for a matrix
 * product (runtime/cuda/matmul_plan.c), run on the CPU: each call goes to a
 * column-major Sgemm written here as cuBLAS defines it (op(A) m x k, op(B)
 * k x n, C m x n, leading dimensions), and the result must be the CPU
 * backend's row-major matmul: transposes, alpha and beta, batch dims that
 * broadcast on either side (a call per batch), whole or not at all (one
 * strided-batched call). What is left to a GPU is only cuBLAS itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "comparison.h"
#include "context.h"
#include "matmul_plan.h"

static int failures, cases;

/* cuBLAS's Sgemm, column-major: C = alpha op(A) op(B) + beta C, for each of
 * batch_count matrices as cublasSgemmStridedBatched steps through them. */
static void column_major_sgemm(const gemm_call *call, float alpha, const float *first, const float *second,
                               float beta, float *output) {
    for (int64_t batch = 0; batch < call->batch_count; batch++) {
        const float *first_matrix = first + batch * call->first_stride;
        const float *second_matrix = second + batch * call->second_stride;
        float *output_matrix = output + batch * call->output_stride;
        for (int64_t j = 0; j < call->n; j++)
            for (int64_t i = 0; i < call->m; i++) {
                double sum = 0.0;
                for (int64_t l = 0; l < call->k; l++) {
                    float left = call->transpose_first ? first_matrix[l + i * call->first_leading]
                                                       : first_matrix[i + l * call->first_leading];
                    float right = call->transpose_second ? second_matrix[j + l * call->second_leading]
                                                         : second_matrix[l + j * call->second_leading];
                    sum += (double)left * right;
                }
                float *c = &output_matrix[i + j * call->output_leading];
                *c = (float)(alpha * sum + beta * *c);
            }
    }
}

static int64_t count_of(int rank, const int64_t *dims) {
    int64_t count = 1;
    for (int d = 0; d < rank; d++) count *= dims[d];
    return count;
}

static void check(backend *cpu, const char *label, matmul_desc desc, int64_t expected_calls) {
    int rank = desc.rank;
    int64_t a_count = count_of(rank, desc.a_dims), b_count = count_of(rank, desc.b_dims);
    int64_t y_count = count_of(rank, desc.y_dims);
    float *a = malloc(sizeof(float) * (size_t)a_count), *b = malloc(sizeof(float) * (size_t)b_count);
    float *want = malloc(sizeof(float) * (size_t)y_count), *got = malloc(sizeof(float) * (size_t)y_count);
    uint64_t state = 0x853C49E6748FEA9Bull;
    random_fill(a, a_count, &state);
    random_fill(b, b_count, &state);
    random_fill(want, y_count, &state);
    memcpy(got, want, sizeof(float) * (size_t)y_count); /* what beta scales */
    void *slot = NULL;
    illume_status status = cpu->matmul(cpu, &desc, &slot, a, b, NULL, want);
    cpu->release_state(cpu, slot);
    matmul_plan plan = matmul_plan_of(&desc);
    for (int64_t index = 0; index < plan.calls; index++) {
        gemm_call call = matmul_call(&desc, &plan, index);
        column_major_sgemm(&call, desc.alpha, b + call.first_offset, a + call.second_offset, desc.beta,
                           got + call.output_offset);
    }
    if (plan.calls != expected_calls) {
        failures++;
        printf("FAIL %s: %lld cuBLAS calls where %lld were expected\n", label, (long long)plan.calls,
               (long long)expected_calls);
    }
    cases++;
    double difference = status == ILLUME_OK ? relative_difference(got, want, y_count) : INFINITY;
    if (!(difference <= 1e-5)) {
        failures++;
        printf("FAIL %s: %s (%.3g of the largest magnitude)\n", label,
               status == ILLUME_OK ? "the cuBLAS calls differ from the CPU's product" : "the CPU matmul failed",
               difference);
    }
    free(a);
    free(b);
    free(want);
    free(got);
}

int main(void) {
    illume_context *context = illume_context_create();
    backend *cpu = cpu_backend_create(context, (backend_options){0});
    if (!cpu) {
        printf("FAIL the CPU backend: %s\n", illume_last_error(context));
        return 1;
    }
    for (int transpose = 0; transpose < 4; transpose++) {
        int ta = transpose & 1, tb = transpose >> 1;
        char label[96];
        /* (5 x 7) by (7 x 3), stored transposed where asked. */
        matmul_desc plain = {.rank = 2, .a_dims = {ta ? 7 : 5, ta ? 5 : 7}, .b_dims = {tb ? 3 : 7, tb ? 7 : 3},
                             .y_dims = {5, 3}, .transpose_a = ta, .transpose_b = tb, .alpha = 0.75f, .beta = 0.5f};
        snprintf(label, sizeof label, "2-D, transposes %d %d, alpha and beta", ta, tb);
        check(cpu, label, plain, 1);
        /* Batches (2, 3) against a that broadcasts along the first and b along the second: a call per batch. */
        matmul_desc mixed = {.rank = 4, .a_dims = {1, 3, ta ? 6 : 4, ta ? 4 : 6},
                             .b_dims = {2, 1, tb ? 5 : 6, tb ? 6 : 5}, .y_dims = {2, 3, 4, 5},
                             .transpose_a = ta, .transpose_b = tb, .alpha = 1.0f, .beta = 0.0f};
        snprintf(label, sizeof label, "batched, broadcast in part, transposes %d %d", ta, tb);
        check(cpu, label, mixed, 6);
        /* The same with a not broadcast and b broadcast whole (a layer's weights): one strided call. */
        matmul_desc strided = mixed;
        strided.a_dims[0] = 2;
        strided.b_dims[0] = 1;
        snprintf(label, sizeof label, "batched, b broadcast whole, transposes %d %d", ta, tb);
        check(cpu, label, strided, 1);
        /* Neither broadcast, with alpha and beta: one strided call. */
        matmul_desc full = strided;
        full.b_dims[0] = 2;
        full.b_dims[1] = 3;
        full.alpha = -0.5f;
        full.beta = 2.0f;
        snprintf(label, sizeof label, "batched, nothing broadcast, transposes %d %d", ta, tb);
        check(cpu, label, full, 1);
    }
    cpu->destroy(cpu);
    illume_context_destroy(context);
    printf("cuda/matmul_plan: %d cases, %d failures\n", cases, failures);
    return failures ? 1 : 0;
}
