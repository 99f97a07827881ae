/* Backward passes of Gemm and MatMul against finite differences: Gemm over
 * transA and transB, alpha and beta, and every C shape that broadcasts to
 * (M, N), with B and C constants or graph inputs (their gradients reduced
 * over the broadcast); MatMul over 1-D operands and numpy batch
 * broadcasting, the right operand constant or a graph input. */
#include "gradient_check.h"
#include "op_cases.h"

/* Products are bilinear: central differences are exact up to rounding. */
static gradient_check product_check(void) {
    gradient_check how = linear_check();
    how.layouts = CHANNELS_LAST;
    return how;
}

static void run_gemm(const gemm_case *c, uint64_t *seed) {
    op_model model = gemm_model(c, seed);
    gradient_check how = product_check();
    expect_gradients(model.label, model.graph, model.input_count, model.inputs, &how);
    op_model_release(&model);
}

static void gemm_tests(uint64_t *seed) {
    for (int i = 0; i < GEMM_SWEEP_COUNT; i++) {
        gemm_case c = gemm_sweep_case(i, 6);
        /* Operands as graph inputs in turn, so that each gradient is checked under every form. */
        c.b_as_input = i % 2;
        c.c_as_input = c.c_rank >= 0 && i % 3 != 1;
        run_gemm(&c, seed);
        c.alpha = 0.5f;
        c.beta = -1.5f;
        c.set_alpha_beta = 1;
        c.b_as_input = !c.b_as_input;
        run_gemm(&c, seed);
    }
    const gemm_case others[] = {
        {.m = 1, .k = 1, .n = 1, .alpha = 1, .beta = 1, .c_rank = 1, .c_dims = {1}, .b_as_input = 1, .c_as_input = 1},
        {.m = 1, .k = 17, .n = 3, .trans_b = 1, .alpha = 2, .beta = 1, .c_rank = 1, .c_dims = {3},
         .set_alpha_beta = 1},
        {.m = 11, .k = 1, .n = 2, .alpha = 1, .beta = 0, .c_rank = 2, .c_dims = {11, 2}, .set_alpha_beta = 1,
         .c_as_input = 1},
        {.m = 3, .k = 4, .n = 1, .trans_a = 1, .alpha = 1, .beta = 0.25f, .c_rank = 2, .c_dims = {3, 1},
         .set_alpha_beta = 1, .b_as_input = 1, .c_as_input = 1},
        {.m = 20, .k = 33, .n = 17, .trans_a = 1, .trans_b = 1, .alpha = 0.75f, .beta = 1, .c_rank = 1,
         .c_dims = {17}, .set_alpha_beta = 1, .b_as_input = 1},
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) run_gemm(&others[i], seed);
}

/* B a constant, then a graph input. */
static void run_matmul(const matmul_case *c, uint64_t *seed) {
    for (int b_as_input = 0; b_as_input <= 1; b_as_input++) {
        op_model model = matmul_model(c, b_as_input, seed);
        gradient_check how = product_check();
        expect_gradients(model.label, model.graph, model.input_count, model.inputs, &how);
        op_model_release(&model);
    }
}

static void matmul_tests(uint64_t *seed) {
    for (size_t i = 0; i < shared_matmul_case_count; i++) run_matmul(&shared_matmul_cases[i], seed);
    /* K = 6, smaller than the forward tests' for the finite differences. */
    const matmul_case cases[] = {{2, {7, 6}, 2, {6, 5}}, {1, {6}, 2, {6, 5}}, {2, {7, 6}, 1, {6}}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_matmul(&cases[i], seed);
}

int main(void) {
    gradient_skip_without_device();
    uint64_t seed = 99;
    gemm_tests(&seed);
    matmul_tests(&seed);
    return test_report("gradients/matmul");
}
