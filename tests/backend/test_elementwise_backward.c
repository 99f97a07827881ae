/* unary_backward and binary_backward against naive references: the
 * derivatives PyTorch's autograd uses, written out per op in double; binary
 * gradients scattered from every y position onto the operand element it
 * reads (numpy broadcasting), and the adjoint of a broadcast Add. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_testing.h"

/* ---- unary ---- */

typedef struct unary_case {
    const char *label;
    unary_kind kind;
    float alpha, beta;
    int from_output; /* the backward may read the output instead of the input */
} unary_case;

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static double unary_derivative(const unary_case *test, gradient_rule rule, double x, double dy) {
    double alpha = test->alpha, beta = test->beta;
    switch (test->kind) {
    case UNARY_COPY: return dy;
    case UNARY_RELU:
        if (rule == RULE_GUIDED) return x > 0 && dy > 0 ? dy : 0.0;
        if (rule == RULE_DECONV) return dy > 0 ? dy : 0.0;
        return x > 0 ? dy : 0.0;
    case UNARY_LEAKY_RELU: return x > 0 ? dy : alpha * dy;
    case UNARY_SIGMOID: return dy * sigmoid(x) * (1.0 - sigmoid(x));
    case UNARY_TANH: return dy * (1.0 - tanh(x) * tanh(x));
    case UNARY_HARD_SIGMOID: {
        double z = alpha * x + beta;
        return z > 0 && z < 1 ? alpha * dy : 0.0;
    }
    case UNARY_HARD_SWISH: return x < -3 ? 0.0 : x > 3 ? dy : dy * (2.0 * x + 3.0) / 6.0;
    case UNARY_ELU: return x > 0 ? dy : dy * alpha * exp(x);
    case UNARY_CLIP: return x > alpha && x < beta ? dy : 0.0;
    case UNARY_LINEAR: return alpha * dy;
    case UNARY_ABS: return x > 0 ? dy : x < 0 ? -dy : 0.0;
    case UNARY_SWISH: return dy * (sigmoid(x) + x * sigmoid(x) * (1.0 - sigmoid(x)));
    case UNARY_ERF: return dy * 2.0 / sqrt(M_PI) * exp(-x * x);
    case UNARY_EXP: return dy * exp(x);
    case UNARY_LOG: return dy / x;
    case UNARY_SQRT: return dy / (2.0 * sqrt(x));
    case UNARY_RECIPROCAL: return -dy / (x * x);
    case UNARY_SIGN: return 0.0;
    }
    return 0.0;
}

static void run_unary(backend *cpu, const unary_case *test, gradient_rule rule, uint64_t *seed) {
    enum { COUNT = 40037 }; /* odd, and past the parallel threshold */
    float *x = testing_floats(COUNT), *y = testing_floats(COUNT), *dy = testing_floats(COUNT);
    float *dx = testing_floats(COUNT);
    double *want = testing_doubles(COUNT), *scale = testing_doubles(COUNT);
    testing_random(seed, x, COUNT, -5.0f, 5.0f);
    testing_random(seed, dy, COUNT, -1.0f, 1.0f);
    /* The kinks, where the side a derivative takes is a convention (PyTorch's). */
    static const float kinks[] = {0.0f, -3.0f, 3.0f, -1.0f, 2.0f};
    for (int k = 0; k < 5; k++) x[k * 7] = kinks[k];
    for (int64_t i = 0; i < COUNT; i++) {
        want[i] = unary_derivative(test, rule, x[i], dy[i]);
        /* Float derivatives such as 1 - tanh^2 cancel: an absolute allowance of 1e-6 dy. */
        scale[i] = fabs(want[i]) + 0.1 * fabs(dy[i]);
    }
    char label[160];
    snprintf(label, sizeof label, "unary %s, rule %d, from the input", test->label, (int)rule);
    unary_backward_desc desc = {test->kind, test->alpha, test->beta, COUNT, rule};
    if (testing_expect_status(label, cpu->unary_backward(cpu, &desc, x, NULL, dy, dx), ILLUME_OK))
        testing_expect(label, dx, want, scale, COUNT, 1e-5);
    if (test->from_output) {
        unary_desc forward = {test->kind, test->alpha, test->beta, COUNT};
        snprintf(label, sizeof label, "unary %s, rule %d, from the output", test->label, (int)rule);
        memset(dx, 0, sizeof(float) * COUNT);
        if (testing_expect_status(label, cpu->unary(cpu, &forward, x, y), ILLUME_OK) &&
            testing_expect_status(label, cpu->unary_backward(cpu, &desc, NULL, y, dy, dx), ILLUME_OK))
            testing_expect(label, dx, want, scale, COUNT, 1e-5);
    }
    free(x);
    free(y);
    free(dy);
    free(dx);
    free(want);
    free(scale);
}

static const unary_case unary_cases[] = {
    {"copy", UNARY_COPY, 0.0f, 0.0f, 1},
    {"relu", UNARY_RELU, 0.0f, 0.0f, 1},
    {"leaky relu", UNARY_LEAKY_RELU, 0.1f, 0.0f, 1},
    {"sigmoid", UNARY_SIGMOID, 0.0f, 0.0f, 1},
    {"tanh", UNARY_TANH, 0.0f, 0.0f, 1},
    {"hard sigmoid", UNARY_HARD_SIGMOID, 0.2f, 0.5f, 1},
    {"hard swish", UNARY_HARD_SWISH, 0.0f, 0.0f, 0},
    {"elu", UNARY_ELU, 1.3f, 0.0f, 1},
    {"clip", UNARY_CLIP, -1.0f, 2.0f, 1},
    {"linear", UNARY_LINEAR, -0.75f, 0.25f, 1},
    {"absolute", UNARY_ABS, 0.0f, 0.0f, 0},
    {"swish", UNARY_SWISH, 0.0f, 0.0f, 0},
    {"erf", UNARY_ERF, 0.0f, 0.0f, 0},
    {"exp", UNARY_EXP, 0.0f, 0.0f, 0},
    {"log", UNARY_LOG, 0.0f, 0.0f, 0},
    {"sqrt", UNARY_SQRT, 0.0f, 0.0f, 0},
    {"reciprocal", UNARY_RECIPROCAL, 0.0f, 0.0f, 0},
    {"sign", UNARY_SIGN, 0.0f, 0.0f, 0},
};

/* ---- binary ---- */

typedef struct binary_case {
    const char *label;
    binary_kind kind;
    int a_rank, b_rank;
    int64_t a_dims[ILLUME_MAX_RANK], b_dims[ILLUME_MAX_RANK];
} binary_case;

static int64_t count_of(int rank, const int64_t *dims) {
    int64_t count = 1;
    for (int d = 0; d < rank; d++) count *= dims[d];
    return count;
}

/* numpy broadcasting: y's dims, and each operand's strides over them (0 where broadcast). */
static binary_desc describe(const binary_case *test) {
    binary_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.kind = test->kind;
    desc.rank = test->a_rank > test->b_rank ? test->a_rank : test->b_rank;
    for (int d = 0; d < desc.rank; d++) {
        int ka = d - (desc.rank - test->a_rank), kb = d - (desc.rank - test->b_rank);
        int64_t a_dim = ka >= 0 ? test->a_dims[ka] : 1, b_dim = kb >= 0 ? test->b_dims[kb] : 1;
        desc.dims[d] = a_dim == 1 ? b_dim : a_dim;
    }
    for (int operand = 0; operand < 2; operand++) {
        int rank = operand ? test->b_rank : test->a_rank;
        const int64_t *dims = operand ? test->b_dims : test->a_dims;
        int64_t *strides = operand ? desc.b_strides : desc.a_strides;
        int64_t stride = 1;
        for (int d = desc.rank - 1; d >= 0; d--) {
            int k = d - (desc.rank - rank);
            int64_t dim = k >= 0 ? dims[k] : 1;
            strides[d] = dim == 1 ? 0 : stride;
            stride *= dim;
        }
    }
    return desc;
}

static double partial(binary_kind kind, int operand, double a, double b) {
    switch (kind) {
    case BINARY_ADD: return 1.0;
    case BINARY_SUB: return operand ? -1.0 : 1.0;
    case BINARY_MUL: return operand ? a : b;
    case BINARY_DIV: return operand ? -a / (b * b) : 1.0 / b;
    case BINARY_PRELU: return operand ? (a > 0 ? 0.0 : a) : (a > 0 ? 1.0 : b);
    case BINARY_POW: return operand ? pow(a, b) * log(a) : b * pow(a, b - 1.0);
    case BINARY_MAX: return a == b ? 0.5 : (operand == 0) == (a > b) ? 1.0 : 0.0;
    case BINARY_MIN: return a == b ? 0.5 : (operand == 0) == (a < b) ? 1.0 : 0.0;
    }
    return 0.0;
}

static void run_binary(backend *cpu, const binary_case *test, uint64_t *seed) {
    binary_desc desc = describe(test);
    int64_t a_count = count_of(test->a_rank, test->a_dims), b_count = count_of(test->b_rank, test->b_dims);
    int64_t y_count = count_of(desc.rank, desc.dims);
    float *a = testing_floats(a_count), *b = testing_floats(b_count), *dy = testing_floats(y_count);
    testing_random(seed, a, a_count, -2.0f, 2.0f);
    testing_random(seed, dy, y_count, -1.0f, 1.0f);
    /* Divisors kept away from zero; PRelu's input sometimes exactly 0. */
    for (int64_t i = 0; i < b_count; i++) {
        float magnitude = testing_uniform(seed, 0.5f, 2.0f);
        b[i] = testing_uniform(seed, 0.0f, 1.0f) < 0.5f ? -magnitude : magnitude;
    }
    if (test->kind == BINARY_PRELU)
        for (int64_t i = 0; i < a_count; i += 5) a[i] = 0.0f;
    /* Pow's base positive (its logarithm is the exponent's partial); Max and Min with ties, which split. */
    if (test->kind == BINARY_POW)
        for (int64_t i = 0; i < a_count; i++) a[i] = fabsf(a[i]) + 0.25f;
    if ((test->kind == BINARY_MAX || test->kind == BINARY_MIN) && a_count == b_count)
        for (int64_t i = 0; i < a_count; i += 4) b[i] = a[i];
    for (int operand = 0; operand < 2; operand++) {
        int64_t count = operand ? b_count : a_count;
        float *dx = testing_floats(count);
        double *want = testing_doubles(count), *scale = testing_doubles(count);
        for (int64_t i = 0; i < count; i++) dx[i] = 1234.5f;
        for (int64_t i = 0; i < y_count; i++) {
            int64_t rest = i, at_a = 0, at_b = 0;
            for (int d = desc.rank - 1; d >= 0; d--) {
                int64_t coordinate = rest % desc.dims[d];
                rest /= desc.dims[d];
                at_a += coordinate * desc.a_strides[d];
                at_b += coordinate * desc.b_strides[d];
            }
            int64_t at = operand ? at_b : at_a;
            double term = dy[i] * partial(test->kind, operand, a[at_a], b[at_b]);
            want[at] += term;
            scale[at] += fabs(term) + 1e-30; /* a zero partial still counts as read */
        }
        char label[160];
        snprintf(label, sizeof label, "binary %s, operand %d", test->label, operand);
        /* Add and Sub read neither operand: the backward gets none. */
        int reads = test->kind != BINARY_ADD && test->kind != BINARY_SUB;
        illume_status status = cpu->binary_backward(cpu, &desc, operand, reads ? a : NULL, reads ? b : NULL, dy, dx);
        if (testing_expect_status(label, status, ILLUME_OK)) testing_expect(label, dx, want, scale, count, 1e-5);
        if (test->kind == BINARY_ADD) {
            /* Add is linear in each operand: its backward is the adjoint of broadcasting it. */
            float *u = testing_floats(count), *zeros = testing_floats(operand ? a_count : b_count);
            float *y = testing_floats(y_count);
            testing_random(seed, u, count, -1.0f, 1.0f);
            snprintf(label, sizeof label, "binary %s, operand %d: adjoint", test->label, operand);
            status = operand ? cpu->binary(cpu, &desc, zeros, u, y) : cpu->binary(cpu, &desc, u, zeros, y);
            if (testing_expect_status(label, status, ILLUME_OK))
                testing_expect_adjoint(label, dx, u, count, dy, y, y_count, 1e-5);
            free(u);
            free(zeros);
            free(y);
        }
        free(dx);
        free(want);
        free(scale);
    }
    free(a);
    free(b);
    free(dy);
}

static const binary_case binary_cases[] = {
    {"add same shape", BINARY_ADD, 3, 3, {3, 5, 7}, {3, 5, 7}},
    {"add channel bias", BINARY_ADD, 4, 3, {2, 3, 5, 7}, {3, 1, 1}},
    {"add scalar", BINARY_ADD, 3, 0, {4, 3, 5}, {0}},
    {"add both broadcast", BINARY_ADD, 3, 2, {3, 1, 5}, {4, 1}},
    {"add middle broadcast", BINARY_ADD, 4, 4, {2, 1, 3, 1}, {1, 5, 3, 7}},
    {"add large row bias (parallel)", BINARY_ADD, 2, 1, {300, 257}, {257}},
    {"sub both broadcast", BINARY_SUB, 3, 2, {3, 1, 5}, {4, 1}},
    {"sub vector", BINARY_SUB, 1, 4, {6}, {2, 3, 1, 6}},
    {"mul channel scale", BINARY_MUL, 4, 3, {2, 3, 5, 7}, {3, 1, 1}},
    {"mul both broadcast", BINARY_MUL, 3, 3, {1, 4, 5}, {3, 4, 1}},
    {"mul same shape (parallel)", BINARY_MUL, 2, 2, {211, 199}, {211, 199}},
    {"mul scalar one", BINARY_MUL, 2, 1, {5, 3}, {1}},
    {"div same shape", BINARY_DIV, 2, 2, {7, 9}, {7, 9}},
    {"div both broadcast", BINARY_DIV, 3, 2, {2, 1, 6}, {5, 1}},
    {"div scalar numerator", BINARY_DIV, 0, 3, {0}, {3, 4, 5}},
    {"prelu channel slope", BINARY_PRELU, 4, 3, {2, 3, 5, 4}, {3, 1, 1}},
    {"prelu one slope", BINARY_PRELU, 3, 1, {2, 5, 3}, {1}},
    {"prelu full slope", BINARY_PRELU, 2, 2, {6, 7}, {6, 7}},
    {"pow same shape", BINARY_POW, 2, 2, {7, 9}, {7, 9}},
    {"pow scalar exponent", BINARY_POW, 3, 0, {2, 3, 5}, {0}},
    {"max same shape, ties", BINARY_MAX, 2, 2, {9, 11}, {9, 11}},
    {"max channel broadcast", BINARY_MAX, 4, 3, {2, 3, 5, 4}, {3, 1, 1}},
    {"min same shape, ties", BINARY_MIN, 2, 2, {9, 11}, {9, 11}},
    {"min both broadcast", BINARY_MIN, 3, 2, {3, 1, 5}, {4, 1}},
    {"empty y", BINARY_MUL, 3, 3, {2, 0, 3}, {2, 1, 3}},
};

int main(void) {
    backend *cpu = testing_backend_open();
    if (!cpu) return testing_report("backend/elementwise");
    uint64_t seed = 7;
    for (size_t i = 0; i < sizeof unary_cases / sizeof unary_cases[0]; i++)
        run_unary(cpu, &unary_cases[i], RULE_GRADIENT, &seed);
    run_unary(cpu, &unary_cases[1], RULE_GUIDED, &seed);
    run_unary(cpu, &unary_cases[1], RULE_DECONV, &seed);
    for (size_t i = 0; i < sizeof binary_cases / sizeof binary_cases[0]; i++) run_binary(cpu, &binary_cases[i], &seed);

    /* What a backward cannot compute without is refused, not dereferenced. */
    float value = 1.0f, gradient;
    unary_backward_desc swish = {UNARY_HARD_SWISH, 0.0f, 0.0f, 1, RULE_GRADIENT};
    testing_expect_status("hard swish from the output",
                          cpu->unary_backward(cpu, &swish, NULL, &value, &value, &gradient), ILLUME_ERROR_INTERNAL);
    unary_backward_desc relu = {UNARY_RELU, 0.0f, 0.0f, 1, RULE_GRADIENT};
    testing_expect_status("relu from neither", cpu->unary_backward(cpu, &relu, NULL, NULL, &value, &gradient),
                          ILLUME_ERROR_INTERNAL);
    binary_desc mul = {.kind = BINARY_MUL, .rank = 1, .dims = {1}, .a_strides = {1}, .b_strides = {1}};
    testing_expect_status("mul without the other operand",
                          cpu->binary_backward(cpu, &mul, 0, &value, NULL, &value, &gradient), ILLUME_ERROR_INTERNAL);
    testing_expect_status("operand 2", cpu->binary_backward(cpu, &mul, 2, &value, &value, &value, &gradient),
                          ILLUME_ERROR_INTERNAL);
    testing_backend_close(cpu);
    return testing_report("backend/elementwise");
}
