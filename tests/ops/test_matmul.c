/* Gemm over transA/transB, alpha, beta and every C shape that broadcasts
 * to (M, N); MatMul over 1-D operands and numpy batch broadcasting; the
 * right operand both constant and a graph input; empty operands. */
#include "op_cases.h"
#include "reference.h"
#include "test_support.h"

static void run_gemm(const gemm_case *c, uint64_t *seed) {
    op_model model = gemm_model(c, seed);
    illume_tensor want = reference_gemm(&model.operands[0], &model.operands[1],
                                        c->c_rank >= 0 ? &model.operands[2] : NULL, c->trans_a, c->trans_b,
                                        c->alpha, c->beta);
    expect_run(model.label, model.graph, model.input_count, model.inputs, 1, &want, 1e-5);
    op_model_release(&model);
}

static void gemm_tests(uint64_t *seed) {
    /* Every transposition with every C shape. */
    for (int i = 0; i < GEMM_SWEEP_COUNT; i++) {
        gemm_case c = gemm_sweep_case(i, 13);
        run_gemm(&c, seed);
        c.alpha = 0.5f;
        c.beta = -1.5f;
        c.set_alpha_beta = 1;
        run_gemm(&c, seed);
    }
    const gemm_case others[] = {
        {.m = 1, .k = 1, .n = 1, .alpha = 1, .beta = 1, .c_rank = 1, .c_dims = {1}},
        {.m = 1, .k = 17, .n = 3, .trans_b = 1, .alpha = 2, .beta = 1, .c_rank = 1, .c_dims = {3},
         .set_alpha_beta = 1},
        {.m = 11, .k = 1, .n = 2, .alpha = 1, .beta = 0, .c_rank = 2, .c_dims = {11, 2}, .set_alpha_beta = 1},
        {.m = 3, .k = 4, .n = 1, .trans_a = 1, .alpha = 1, .beta = 0.25f, .c_rank = 2, .c_dims = {3, 1},
         .set_alpha_beta = 1},
        {.m = 6, .k = 9, .n = 4, .trans_b = 1, .alpha = 1, .beta = 1, .c_rank = 1, .c_dims = {4}, .b_as_input = 1},
        {.m = 6, .k = 9, .n = 4, .alpha = -1, .beta = 2, .c_rank = 2, .c_dims = {6, 4}, .b_as_input = 1,
         .c_as_input = 1, .set_alpha_beta = 1},
        {.m = 5, .k = 8, .n = 3, .alpha = 1, .beta = 1, .c_rank = 1, .c_dims = {3}, .c_as_input = 1},
        {.m = 33, .k = 64, .n = 17, .trans_a = 1, .trans_b = 1, .alpha = 0.75f, .beta = 1, .c_rank = 1,
         .c_dims = {17}, .set_alpha_beta = 1},
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) run_gemm(&others[i], seed);
    /* Empty operands: with K = 0 the product is zero and C alone remains. */
    const gemm_case empty[] = {
        {.m = 3, .k = 0, .n = 4, .alpha = 1, .beta = 1, .c_rank = -1},
        {.m = 3, .k = 0, .n = 4, .alpha = 1, .beta = 1, .c_rank = 1, .c_dims = {4}},
        {.m = 3, .k = 0, .n = 4, .alpha = 2, .beta = 0.5f, .c_rank = 2, .c_dims = {3, 4}, .set_alpha_beta = 1},
        {.m = 0, .k = 5, .n = 2, .alpha = 1, .beta = 1, .c_rank = 1, .c_dims = {2}},
        {.m = 2, .k = 3, .n = 0, .trans_b = 1, .alpha = 1, .beta = 1, .c_rank = -1},
    };
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) run_gemm(&empty[i], seed);
}

/* B a constant, then a graph input. */
static void run_matmul(const matmul_case *c, uint64_t *seed) {
    for (int b_as_input = 0; b_as_input <= 1; b_as_input++) {
        op_model model = matmul_model(c, b_as_input, seed);
        illume_tensor want = reference_matmul(&model.operands[0], &model.operands[1]);
        expect_run(model.label, model.graph, model.input_count, model.inputs, 1, &want, 1e-5);
        op_model_release(&model);
    }
}

static void matmul_tests(uint64_t *seed) {
    for (size_t i = 0; i < shared_matmul_case_count; i++) run_matmul(&shared_matmul_cases[i], seed);
    /* K = 13, and empty operands. */
    const matmul_case cases[] = {
        {2, {7, 13}, 2, {13, 5}}, {1, {13}, 2, {13, 5}}, {2, {7, 13}, 1, {13}},
        {2, {3, 0}, 2, {0, 4}},   {2, {0, 5}, 2, {5, 2}}, {3, {2, 3, 3}, 2, {3, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_matmul(&cases[i], seed);
}

int main(void) {
    uint64_t seed = 99;
    gemm_tests(&seed);
    matmul_tests(&seed);
    return test_report("ops/matmul");
}
