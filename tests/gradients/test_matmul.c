/* Backward passes of Gemm and MatMul against finite differences: Gemm over
 * transA and transB, alpha and beta, and every C shape that broadcasts to
 * (M, N), with B and C constants or graph inputs (their gradients reduced
 * over the broadcast); MatMul over 1-D operands and numpy batch
 * broadcasting, the right operand constant or a graph input. Products are
 * bilinear, so central differences are exact up to rounding. */
#include <stdio.h>
#include <string.h>

#include "gradient_check.h"

typedef struct gemm_case {
    int64_t m, k, n;
    int trans_a, trans_b;
    float alpha, beta;
    int c_rank; /* -1: no C */
    int64_t c_dims[2];
    int b_as_input, c_as_input, set_alpha_beta;
} gemm_case;

static void run_gemm(const gemm_case *c, uint64_t *seed) {
    int64_t a_dims[2] = {c->trans_a ? c->k : c->m, c->trans_a ? c->m : c->k};
    int64_t b_dims[2] = {c->trans_b ? c->n : c->k, c->trans_b ? c->k : c->n};
    illume_tensor inputs[3];
    int input_count = 1;
    inputs[0] = tensor_random(2, a_dims, -1.0f, 1.0f, seed);
    illume_tensor b_tensor = tensor_random(2, b_dims, -1.0f, 1.0f, seed);
    illume_tensor c_tensor = tensor_random(c->c_rank > 0 ? c->c_rank : 0, c->c_dims, -1.0f, 1.0f, seed);
    builder *b = builder_create(13);
    int node_inputs[3] = {builder_input(b, "a", 2, a_dims), -1, -1};
    if (c->b_as_input) {
        node_inputs[1] = builder_input(b, "b", 2, b_dims);
        inputs[input_count++] = b_tensor;
    } else {
        node_inputs[1] = builder_floats(b, "b", 2, b_dims, b_tensor.data);
    }
    if (c->c_rank >= 0 && c->c_as_input) {
        node_inputs[2] = builder_input(b, "c", c->c_rank, c->c_dims);
        inputs[input_count++] = c_tensor;
    } else if (c->c_rank >= 0) {
        node_inputs[2] = builder_floats(b, "c", c->c_rank, c->c_dims, c_tensor.data);
    }
    int y, node = builder_node(b, "Gemm", c->c_rank >= 0 ? 3 : 2, node_inputs, 1, &y);
    if (c->trans_a) builder_attribute_int(b, node, "transA", 1);
    if (c->trans_b) builder_attribute_int(b, node, "transB", 1);
    if (c->set_alpha_beta) {
        builder_attribute_float(b, node, "alpha", c->alpha);
        builder_attribute_float(b, node, "beta", c->beta);
    }
    builder_output(b, y);
    char label[256], c_shape[64] = "none";
    if (c->c_rank == 0) snprintf(c_shape, sizeof c_shape, "scalar");
    if (c->c_rank == 1) snprintf(c_shape, sizeof c_shape, "[%lld]", (long long)c->c_dims[0]);
    if (c->c_rank == 2)
        snprintf(c_shape, sizeof c_shape, "[%lld, %lld]", (long long)c->c_dims[0], (long long)c->c_dims[1]);
    snprintf(label, sizeof label, "Gemm M=%lld K=%lld N=%lld transA=%d transB=%d alpha=%g beta=%g C=%s%s%s",
             (long long)c->m, (long long)c->k, (long long)c->n, c->trans_a, c->trans_b, c->alpha, c->beta, c_shape,
             c->b_as_input ? " B input" : "", c->c_as_input ? " C input" : "");
    gradient_check how = linear_check();
    how.layouts = CHANNELS_LAST;
    expect_gradients(label, b, input_count, inputs, &how);
    tensor_release(&inputs[0]);
    tensor_release(&b_tensor);
    tensor_release(&c_tensor);
}

static void gemm_tests(uint64_t *seed) {
    const struct {
        int rank;
        int64_t dims[2];
    } c_shapes[] = {{-1, {0, 0}}, {0, {0, 0}}, {1, {1, 0}}, {1, {5, 0}}, {2, {1, 5}},
                    {2, {7, 1}},  {2, {7, 5}}, {2, {1, 1}}};
    int variant = 0;
    for (int trans = 0; trans < 4; trans++)
        for (size_t s = 0; s < sizeof c_shapes / sizeof c_shapes[0]; s++, variant++) {
            gemm_case c = {.m = 7, .k = 6, .n = 5, .trans_a = trans & 1, .trans_b = trans >> 1, .alpha = 1.0f,
                           .beta = 1.0f, .c_rank = c_shapes[s].rank};
            memcpy(c.c_dims, c_shapes[s].dims, sizeof c.c_dims);
            /* Operands as graph inputs in turn, so that each gradient is checked under every form. */
            c.b_as_input = variant % 2;
            c.c_as_input = c.c_rank >= 0 && variant % 3 != 1;
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

static void run_matmul(int a_rank, const int64_t *a_dims, int b_rank, const int64_t *b_dims, int b_as_input,
                       uint64_t *seed) {
    illume_tensor inputs[2] = {tensor_random(a_rank, a_dims, -1.0f, 1.0f, seed),
                               tensor_random(b_rank, b_dims, -1.0f, 1.0f, seed)};
    builder *b = builder_create(13);
    int node_inputs[2] = {builder_input(b, "a", a_rank, a_dims),
                          b_as_input ? builder_input(b, "b", b_rank, b_dims)
                                     : builder_floats(b, "b", b_rank, b_dims, inputs[1].data)};
    int y;
    builder_node(b, "MatMul", 2, node_inputs, 1, &y);
    builder_output(b, y);
    char label[256], a_text[96] = "", b_text[96] = "";
    for (int d = 0; d < a_rank; d++)
        snprintf(a_text + strlen(a_text), sizeof a_text - strlen(a_text), "%s%lld", d ? "x" : "", (long long)a_dims[d]);
    for (int d = 0; d < b_rank; d++)
        snprintf(b_text + strlen(b_text), sizeof b_text - strlen(b_text), "%s%lld", d ? "x" : "", (long long)b_dims[d]);
    snprintf(label, sizeof label, "MatMul [%s] by [%s]%s", a_text, b_text, b_as_input ? " (B input)" : "");
    gradient_check how = linear_check();
    how.layouts = CHANNELS_LAST;
    expect_gradients(label, b, b_as_input ? 2 : 1, inputs, &how);
    tensor_release(&inputs[0]);
    tensor_release(&inputs[1]);
}

static void matmul_tests(uint64_t *seed) {
    const struct {
        int a_rank;
        int64_t a_dims[5];
        int b_rank;
        int64_t b_dims[5];
    } cases[] = {
        {2, {7, 6}, 2, {6, 5}},
        {1, {6}, 2, {6, 5}},
        {2, {7, 6}, 1, {6}},
        {1, {11}, 1, {11}},
        {3, {3, 7, 4}, 2, {4, 5}},
        {2, {7, 4}, 3, {3, 4, 5}},
        {3, {3, 7, 4}, 3, {3, 4, 5}},
        {4, {2, 1, 3, 4}, 3, {5, 4, 6}},
        {4, {2, 3, 1, 4}, 4, {1, 3, 4, 2}},
        {1, {4}, 3, {2, 4, 3}},
        {4, {2, 1, 3, 4}, 1, {4}},
        {3, {1, 1, 1}, 3, {5, 1, 1}},
        {5, {2, 1, 2, 3, 2}, 4, {4, 1, 2, 5}},
        {2, {1, 64}, 2, {64, 17}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int b_as_input = 0; b_as_input <= 1; b_as_input++)
            run_matmul(cases[i].a_rank, cases[i].a_dims, cases[i].b_rank, cases[i].b_dims, b_as_input, seed);
}

int main(void) {
    gradient_skip_without_device();
    uint64_t seed = 99;
    gemm_tests(&seed);
    matmul_tests(&seed);
    return test_report("gradients/matmul");
}
