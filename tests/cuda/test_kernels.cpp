// test_kernels: the CUDA backend's kernels (every .cu file of
// runtime/cuda/), compiled as host C++ against the CPU execution harness
// (kernel_harness.h), run on the same inputs as the CPU backend and
// compared with it: every launcher, every kind and rule, broadcast and
// strided shapes, sizes that leave a partial last block and sizes over one
// grid (so that the grid-stride loops run more than once), and the block
// reductions of class_activation.cu on fibers. Under the AddressSanitizer
// build an out-of-bounds index fails the test.
#include "elementwise.cu"
#include "pooling.cu"
#include "reduce.cu"
#include "batchnorm.cu"
#include "lrn.cu"
#include "pad.cu"
#include "resize.cu"
#include "noise.cu"
#include "class_activation.cu"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static int failures = 0, cases = 0;

static uint64_t state = 0x9E3779B97F4A7C15ull;

static float uniform(float low, float high) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return low + (high - low) * (float)((state >> 40) & 0xFFFFFF) / 16777216.0f;
}

static std::vector<float> random_values(int64_t count, float low, float high, bool with_zeros = false) {
    std::vector<float> values((size_t)count);
    for (auto &value : values) value = with_zeros && uniform(0.0f, 1.0f) < 0.1f ? 0.0f : uniform(low, high);
    return values;
}

static void expect_same(const char *label, const std::vector<float> &got, const std::vector<float> &want) {
    cases++;
    double worst = 0.0;
    for (size_t i = 0; i < got.size(); i++) {
        double scale = std::fabs(want[i]) > 1.0 ? std::fabs(want[i]) : 1.0;
        double error = got[i] == want[i] ? 0.0 : std::fabs((double)got[i] - (double)want[i]) / scale;
        if (!(error <= 1e-6)) error = std::isnan(got[i]) && std::isnan(want[i]) ? 0.0 : error > worst ? error : 1.0;
        if (error > worst) worst = error;
    }
    if (worst > 1e-6) {
        failures++;
        std::printf("FAIL %s: the kernel differs from the CPU backend by %.3g (relative)\n", label, worst);
    }
}

static void expect_launched(const char *label, int error) {
    cases++;
    if (error != 0) {
        failures++;
        std::printf("FAIL %s: the launcher returned %d\n", label, error);
    }
}

// Counts around the block size and past one grid of ILLUME_CUDA_MAX_BLOCKS blocks.
static const int64_t counts[] = {1, 255, 257, 1000, (int64_t)ILLUME_CUDA_THREADS * ILLUME_CUDA_MAX_BLOCKS + 77};

static void fills_and_terms(backend *cpu) {
    for (int64_t count : counts) {
        std::vector<float> got((size_t)count, -1.0f), want((size_t)count, -1.0f);
        expect_launched("fill", illume_cuda_fill(nullptr, 2.5f, count, got.data()));
        cpu->fill(cpu, 2.5f, count, want.data());
        expect_same("fill", got, want);
        std::vector<float> a = random_values(count, -2.0f, 2.0f), b = random_values(count, -2.0f, 2.0f);
        for (int with_b = 0; with_b < 2; with_b++) {
            std::vector<float> term_got = random_values(count, -1.0f, 1.0f), term_want = term_got;
            expect_launched("relevance term",
                            illume_cuda_relevance_term(nullptr, count, -0.75f, a.data(), with_b ? b.data() : nullptr,
                                                       term_got.data()));
            cpu->relevance_term(cpu, count, -0.75f, a.data(), with_b ? b.data() : nullptr, term_want.data());
            expect_same(with_b ? "relevance term a * b" : "relevance term a", term_got, term_want);
        }
    }
}

static void unary_kinds(backend *cpu) {
    const unary_kind kinds[] = {UNARY_COPY,         UNARY_RELU,       UNARY_LEAKY_RELU, UNARY_SIGMOID, UNARY_TANH,
                                UNARY_HARD_SIGMOID, UNARY_HARD_SWISH, UNARY_ELU,        UNARY_CLIP,    UNARY_LINEAR,
                                UNARY_ABS,          UNARY_SWISH,      UNARY_ERF,        UNARY_EXP,     UNARY_LOG,
                                UNARY_SQRT,         UNARY_RECIPROCAL, UNARY_SIGN};
    const gradient_rule rules[] = {RULE_GRADIENT, RULE_GUIDED, RULE_DECONV};
    for (unary_kind kind : kinds)
        for (int64_t count : {(int64_t)300, (int64_t)5000}) {
            char label[96];
            std::vector<float> x = random_values(count, -4.0f, 4.0f, true), dy = random_values(count, -1.0f, 1.0f);
            unary_desc desc = {kind, 0.2f, 0.6f, count};
            if (kind == UNARY_CLIP) desc.alpha = -0.5f;
            std::vector<float> got((size_t)count), want((size_t)count);
            std::snprintf(label, sizeof label, "unary kind %d", (int)kind);
            expect_launched(label, illume_cuda_unary(nullptr, &desc, x.data(), got.data()));
            cpu->unary(cpu, &desc, x.data(), want.data());
            expect_same(label, got, want);
            std::vector<float> y = want;
            for (gradient_rule rule : rules)
                for (int from_output = 0; from_output < 2; from_output++) {
                    if (from_output && illume_unary_gradient_reads(kind) == ILLUME_READS_INPUT) continue;
                    unary_backward_desc backward = {kind, desc.alpha, desc.beta, count, rule};
                    const float *input = from_output ? nullptr : x.data();
                    std::snprintf(label, sizeof label, "unary backward kind %d rule %d from the %s", (int)kind,
                                  (int)rule, from_output ? "output" : "input");
                    expect_launched(label, illume_cuda_unary_backward(nullptr, &backward, input, y.data(), dy.data(),
                                                                      got.data()));
                    cpu->unary_backward(cpu, &backward, input, y.data(), dy.data(), want.data());
                    expect_same(label, got, want);
                }
        }
}

static void broadcast_and_copies(backend *cpu) {
    // y (3, 4, 5) = a (3, 1, 5) op b (4, 5), every kind.
    const binary_kind kinds[] = {BINARY_ADD,   BINARY_SUB, BINARY_MUL, BINARY_DIV,
                                 BINARY_PRELU, BINARY_POW, BINARY_MAX, BINARY_MIN};
    std::vector<float> a = random_values(15, -2.0f, 2.0f), b = random_values(20, 0.5f, 2.0f);
    for (binary_kind kind : kinds) {
        binary_desc desc = {kind, 3, {3, 4, 5}, {5, 0, 1}, {0, 5, 1}};
        std::vector<float> got(60), want(60);
        char label[64];
        std::snprintf(label, sizeof label, "binary kind %d broadcast", (int)kind);
        expect_launched(label, illume_cuda_binary(nullptr, &desc, a.data(), b.data(), got.data()));
        cpu->binary(cpu, &desc, a.data(), b.data(), want.data());
        expect_same(label, got, want);
    }
    // The gradient of each operand of each kind, summed over its broadcast axes.
    std::vector<float> dy = random_values(60, -1.0f, 1.0f);
    for (binary_kind kind : kinds)
        for (int operand = 0; operand < 2; operand++) {
            binary_desc desc = {kind, 3, {3, 4, 5}, {5, 0, 1}, {0, 5, 1}};
            size_t size = operand == 0 ? 15 : 20;
            std::vector<float> got(size), want(size);
            char label[64];
            std::snprintf(label, sizeof label, "binary backward kind %d operand %d", (int)kind, operand);
            expect_launched(label, illume_cuda_binary_backward(nullptr, &desc, operand, a.data(), b.data(), dy.data(),
                                                               got.data()));
            cpu->binary_backward(cpu, &desc, operand, a.data(), b.data(), dy.data(), want.data());
            expect_same(label, got, want);
        }
    // A transpose of (6, 7) into an offset block of a larger buffer, written and accumulated.
    std::vector<float> x = random_values(42, -1.0f, 1.0f);
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        copy_desc desc = {2, {7, 6}, {1, 7}, {10, 1}, 0, 3, accumulate};
        std::vector<float> got = random_values(80, -1.0f, 1.0f), want = got;
        expect_launched("strided copy", illume_cuda_copy(nullptr, &desc, x.data(), got.data()));
        cpu->copy(cpu, &desc, x.data(), want.data());
        expect_same(accumulate ? "strided copy, accumulated" : "strided copy", got, want);
    }
}

static void relevance_and_deeplift(backend *cpu) {
    int64_t half = 700, count = 2 * half;
    std::vector<float> r = random_values(count, -1.0f, 1.0f), z = random_values(count, -1.0f, 1.0f, true);
    std::vector<float> g = random_values(count, -1.0f, 1.0f, true);
    for (int gate = 0; gate < 3; gate++) {
        relevance_ratio_desc desc = {count, 1e-3f, gate};
        std::vector<float> got((size_t)count), want((size_t)count);
        expect_launched("relevance ratio", illume_cuda_relevance_ratio(nullptr, &desc, r.data(), z.data(), g.data(),
                                                                       got.data()));
        cpu->relevance_ratio(cpu, &desc, r.data(), z.data(), g.data(), want.data());
        expect_same(gate ? "relevance ratio, gated" : "relevance ratio", got, want);
    }
    // Inputs and references equal at some elements, so that both sides of the threshold run.
    std::vector<float> x = random_values(count, -2.0f, 2.0f), y = random_values(count, -2.0f, 2.0f);
    for (int64_t i = 0; i < half; i += 7) x[(size_t)(i + half)] = x[(size_t)i];
    std::vector<float> dy = random_values(count, -1.0f, 1.0f);
    const deeplift_step steps[] = {DEEPLIFT_RESCALE,    DEEPLIFT_POOL_PARTS,     DEEPLIFT_POOL_COMBINE,
                                   DEEPLIFT_DIFFERENCE, DEEPLIFT_POSITIVE_SHARE, DEEPLIFT_NEGATIVE_SHARE};
    for (deeplift_step step : steps) {
        std::vector<float> got = random_values(count, -1.0f, 1.0f), want = got;
        char label[48];
        std::snprintf(label, sizeof label, "DeepLIFT step %d", (int)step);
        expect_launched(label, illume_cuda_deeplift(nullptr, step, half, x.data(), y.data(), dy.data(), got.data()));
        cpu->deeplift(cpu, step, half, x.data(), y.data(), dy.data(), want.data());
        expect_same(label, got, want);
    }
    std::vector<float> positive = random_values(half, 0.0f, 1.0f, true), negative = random_values(half, -1.0f, 0.0f, true);
    for (unary_kind kind : {UNARY_RELU, UNARY_SIGMOID, UNARY_TANH}) {
        reveal_cancel_desc desc = {half, kind, 0.0f, 0.0f};
        std::vector<float> got_up((size_t)count), got_down((size_t)count), want_up((size_t)count),
            want_down((size_t)count);
        expect_launched("RevealCancel", illume_cuda_reveal_cancel(nullptr, &desc, x.data(), positive.data(),
                                                                  negative.data(), dy.data(), got_up.data(),
                                                                  got_down.data()));
        cpu->reveal_cancel(cpu, &desc, x.data(), positive.data(), negative.data(), dy.data(), want_up.data(),
                           want_down.data());
        expect_same("RevealCancel, positive part", got_up, want_up);
        expect_same("RevealCancel, negative part", got_down, want_down);
    }
}

// Pooling windows of every kind the descriptor holds: 1 to 3 spatial dims,
// strides, dilations, padding on either side, partial windows at the border.
static pool_desc pool_case(pool_kind kind, int rank, int variant) {
    pool_desc desc = {};
    desc.kind = kind;
    desc.spatial_rank = rank;
    desc.planes = 3;
    desc.count_include_pad = variant % 2;
    const int64_t sizes[3] = {7, 6, 9};
    for (int d = 0; d < rank; d++) {
        desc.in_size[d] = sizes[3 - rank + d];
        desc.kernel[d] = variant == 2 ? 2 : 3;
        desc.stride[d] = variant == 0 ? 1 : 2;
        desc.dilation[d] = variant == 3 ? 2 : 1;
        desc.pad_begin[d] = variant == 0 ? 0 : 1;
        desc.pad_end[d] = variant >= 2 ? 1 : 0;
        int64_t span = (desc.kernel[d] - 1) * desc.dilation[d] + 1;
        desc.out_size[d] = (desc.in_size[d] + desc.pad_begin[d] + desc.pad_end[d] - span) / desc.stride[d] + 1;
    }
    return desc;
}

static void pooling(backend *cpu) {
    for (int kind = 0; kind < 2; kind++)
        for (int rank = 1; rank <= 3; rank++)
            for (int variant = 0; variant < 4; variant++) {
                pool_desc desc = pool_case(kind ? POOL_AVERAGE : POOL_MAX, rank, variant);
                int64_t in_plane = 1, out_plane = 1;
                for (int d = 0; d < rank; d++) {
                    in_plane *= desc.in_size[d];
                    out_plane *= desc.out_size[d];
                }
                int64_t in_count = desc.planes * in_plane, out_count = desc.planes * out_plane;
                std::vector<float> x = random_values(in_count, -2.0f, 2.0f);
                std::vector<float> got((size_t)out_count), want((size_t)out_count);
                std::vector<int32_t> got_argmax((size_t)out_count, -7), want_argmax((size_t)out_count, -7);
                int32_t *argmax = kind ? nullptr : got_argmax.data();
                char label[96];
                std::snprintf(label, sizeof label, "%s pooling, %d spatial dims, variant %d", kind ? "average" : "max",
                              rank, variant);
                expect_launched(label, illume_cuda_pool(nullptr, &desc, x.data(), got.data(), argmax));
                cpu->pool(cpu, &desc, x.data(), want.data(), kind ? nullptr : want_argmax.data());
                expect_same(label, got, want);
                cases++;
                if (got_argmax != want_argmax) {
                    failures++;
                    std::printf("FAIL %s: the argmax differs from the CPU backend's\n", label);
                }
                std::vector<float> dy = random_values(out_count, -1.0f, 1.0f);
                std::vector<float> dx_got((size_t)in_count, -9.0f), dx_want((size_t)in_count, -9.0f);
                std::snprintf(label, sizeof label, "%s pooling backward, %d spatial dims, variant %d",
                              kind ? "average" : "max", rank, variant);
                expect_launched(label, illume_cuda_pool_backward(nullptr, &desc, dy.data(), argmax, dx_got.data()));
                cpu->pool_backward(cpu, &desc, dy.data(), kind ? nullptr : want_argmax.data(), dx_want.data());
                expect_same(label, dx_got, dx_want);
            }
}

// Global pooling of large planes, a block per plane: 1 to 3 spatial dims;
// a plane of ties (the first of equal maxima wins), one with NaNs (the last
// wins), one whose maximum is its last element.
static void whole_plane_pooling(backend *cpu) {
    const int64_t shapes[3][3] = {{2000, 1, 1}, {33, 40, 1}, {11, 12, 10}};
    for (int kind = 0; kind < 2; kind++)
        for (int rank = 1; rank <= 3; rank++) {
            pool_desc desc = {};
            desc.kind = kind ? POOL_AVERAGE : POOL_MAX;
            desc.spatial_rank = rank;
            desc.planes = 5;
            int64_t in_plane = 1;
            for (int d = 0; d < rank; d++) {
                desc.in_size[d] = desc.kernel[d] = shapes[rank - 1][d];
                desc.out_size[d] = desc.stride[d] = desc.dilation[d] = 1;
                in_plane *= desc.in_size[d];
            }
            std::vector<float> x = random_values(desc.planes * in_plane, -2.0f, 2.0f);
            for (int64_t i = 0; i < in_plane; i++) x[(size_t)(in_plane + i)] = (float)(i % 7 == 3);
            x[(size_t)(2 * in_plane + 17)] = NAN;
            x[(size_t)(2 * in_plane + in_plane - 40)] = NAN;
            x[(size_t)(4 * in_plane - 1)] = 5.0f;
            std::vector<float> got((size_t)desc.planes), want((size_t)desc.planes);
            std::vector<int32_t> got_argmax((size_t)desc.planes, -7), want_argmax((size_t)desc.planes, -7);
            int32_t *argmax = kind ? nullptr : got_argmax.data();
            char label[96];
            std::snprintf(label, sizeof label, "global %s pooling of %lld positions, %d spatial dims",
                          kind ? "average" : "max", (long long)in_plane, rank);
            long long launches = harness_launches;
            expect_launched(label, illume_cuda_pool(nullptr, &desc, x.data(), got.data(), argmax));
            cpu->pool(cpu, &desc, x.data(), want.data(), kind ? nullptr : want_argmax.data());
            expect_same(label, got, want);
            cases++;
            if (got_argmax != want_argmax || harness_launches != launches + 1) {
                failures++;
                std::printf("FAIL %s: the argmax differs from the CPU backend's\n", label);
            }
        }
}

static void reductions(backend *cpu) {
    // Softmax along the first, a middle and the last axis of (4, 5, 6).
    std::vector<float> x = random_values(120, -6.0f, 6.0f), dy = random_values(120, -1.0f, 1.0f);
    const softmax_desc lines[] = {{1, 4, 30, 0}, {4, 5, 6, 0}, {20, 6, 1, 0}, {4, 5, 6, 1}, {20, 6, 1, 1}};
    for (const softmax_desc &desc : lines) {
        char label[80];
        std::snprintf(label, sizeof label, "%s over %lld of (%lld, ., %lld)", desc.log ? "log-softmax" : "softmax",
                      (long long)desc.axis, (long long)desc.outer, (long long)desc.inner);
        std::vector<float> got(120), want(120);
        expect_launched(label, illume_cuda_softmax(nullptr, &desc, x.data(), got.data()));
        cpu->softmax(cpu, &desc, x.data(), want.data());
        expect_same(label, got, want);
        std::vector<float> dx_got(120), dx_want(120);
        expect_launched(label, illume_cuda_softmax_backward(nullptr, &desc, want.data(), dy.data(), dx_got.data()));
        cpu->softmax_backward(cpu, &desc, want.data(), dy.data(), dx_want.data());
        expect_same(label, dx_got, dx_want);
    }
    // Mean, sum and max of (3, 4, 5, 2) over several sets of axes.
    const int sets[][4] = {{0, 0, 1, 1}, {1, 0, 0, 0}, {0, 1, 0, 1}, {1, 1, 1, 1}, {0, 0, 0, 0}};
    for (int kind = REDUCE_MEAN; kind <= REDUCE_MAX; kind++)
        for (const auto &set : sets) {
            reduce_desc desc = {(reduce_kind)kind, 4, {3, 4, 5, 2}, {set[0], set[1], set[2], set[3]}};
            illume_reduce_geometry geometry = illume_reduce_split(&desc);
            std::vector<float> got((size_t)geometry.outputs), want((size_t)geometry.outputs);
            char label[64];
            std::snprintf(label, sizeof label, "reduce kind %d over axes %d%d%d%d", kind, set[0], set[1], set[2],
                          set[3]);
            expect_launched(label, illume_cuda_reduce(nullptr, &desc, x.data(), got.data()));
            cpu->reduce(cpu, &desc, x.data(), want.data());
            expect_same(label, got, want);
        }
    // Long reductions, a block per output: along the last axis, along the
    // first (strided inputs), and over everything; a NaN in one line, which
    // the largest ignores and the sums carry.
    std::vector<float> long_x = random_values(6000, -3.0f, 3.0f);
    long_x[4321] = NAN;
    const reduce_desc long_reductions[] = {{REDUCE_MEAN, 2, {3, 2000}, {0, 1}}, {REDUCE_MAX, 2, {3, 2000}, {0, 1}},
                                           {REDUCE_SUM, 2, {2000, 3}, {1, 0}}, {REDUCE_MAX, 2, {2000, 3}, {1, 0}},
                                           {REDUCE_MEAN, 3, {20, 30, 10}, {1, 1, 1}}};
    for (const reduce_desc &desc : long_reductions) {
        illume_reduce_geometry geometry = illume_reduce_split(&desc);
        std::vector<float> got((size_t)geometry.outputs), want((size_t)geometry.outputs);
        char label[80];
        std::snprintf(label, sizeof label, "reduce kind %d of %lld inputs an output, a block each", (int)desc.kind,
                      (long long)geometry.count);
        expect_launched(label, illume_cuda_reduce(nullptr, &desc, long_x.data(), got.data()));
        cpu->reduce(cpu, &desc, long_x.data(), want.data());
        expect_same(label, got, want);
    }
}

// SmoothGrad's noise: rows that start and end inside a Philox block, and
// one long enough for several blocks of threads.
static void noise_draws(backend *cpu) {
    const int64_t firsts[] = {0, 3, 1000001}, lengths[] = {1, 7, 257 * 4 + 3};
    for (int64_t first : firsts)
        for (int64_t count : lengths)
            for (uint32_t sample : {0u, 41u}) {
                std::vector<float> x = random_values(count, -1.0f, 1.0f), got((size_t)count), want((size_t)count);
                noise_desc desc = {1234567ull, sample, first, count, 0.3f};
                char label[96];
                std::snprintf(label, sizeof label, "noise of %lld from %lld, sample %u", (long long)count,
                              (long long)first, sample);
                expect_launched(label, illume_cuda_noise(nullptr, &desc, x.data(), got.data()));
                cpu->noise(cpu, &desc, x.data(), want.data());
                expect_same(label, got, want);
            }
}

// Pad in every mode over ranks 1 to 5: pads on either side, size-1 axes,
// negative pads (crops, then the mode pads what they leave), pads wider
// than the axis, and a plane large enough for many blocks.
struct pad_case {
    int rank;
    int64_t dims[5], begin[5], end[5];
};

static void padding(backend *cpu) {
    const pad_case shapes[] = {
        {1, {7}, {2}, {3}},
        {2, {5, 6}, {1, 3}, {0, 2}},
        {3, {2, 4, 3}, {1, 1, 3}, {2, 0, 2}},
        {4, {2, 3, 5, 4}, {0, 0, 2, 1}, {0, 0, 1, 3}},
        {5, {2, 2, 3, 4, 5}, {1, 0, 2, 1, 3}, {0, 1, 1, 2, 2}},
        {3, {1, 5, 1}, {0, 2, 0}, {0, 1, 3}},
        {2, {6, 5}, {-2, -1}, {2, 1}},
        {2, {6, 5}, {-2, 2}, {1, -1}},
        {3, {4, 5, 6}, {-1, -2, -3}, {0, 0, -1}},
        {1, {6}, {-2}, {5}},
        {2, {3, 4}, {0, 0}, {0, 0}},
        {4, {2, 3, 40, 50}, {0, 0, 3, 2}, {0, 0, 4, 5}},
    };
    const pad_mode modes[] = {PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP};
    for (pad_mode mode : modes)
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            const pad_case &shape = shapes[k];
            pad_desc desc = {};
            desc.mode = mode;
            desc.value = 0.625f;
            desc.rank = shape.rank;
            int64_t in_count = 1, out_count = 1;
            for (int d = 0; d < shape.rank; d++) {
                desc.in_dims[d] = shape.dims[d];
                desc.out_dims[d] = shape.dims[d] + shape.begin[d] + shape.end[d];
                desc.pad_begin[d] = shape.begin[d];
                in_count *= desc.in_dims[d];
                out_count *= desc.out_dims[d];
            }
            char label[80];
            std::snprintf(label, sizeof label, "Pad mode %d, case %zu (rank %d)", (int)mode, k, shape.rank);
            std::vector<float> x = random_values(in_count, -2.0f, 2.0f);
            std::vector<float> got((size_t)out_count, -9.0f), want((size_t)out_count, -9.0f);
            expect_launched(label, illume_cuda_pad(nullptr, &desc, x.data(), got.data()));
            cpu->pad(cpu, &desc, x.data(), want.data());
            expect_same(label, got, want);
            std::snprintf(label, sizeof label, "Pad backward mode %d, case %zu (rank %d)", (int)mode, k, shape.rank);
            std::vector<float> dy = random_values(out_count, -1.0f, 1.0f);
            std::vector<float> dx_got((size_t)in_count, -9.0f), dx_want((size_t)in_count, -9.0f);
            expect_launched(label, illume_cuda_pad_backward(nullptr, &desc, dy.data(), dx_got.data()));
            cpu->pad_backward(cpu, &desc, dy.data(), dx_want.data());
            expect_same(label, dx_got, dx_want);
        }
}

// One Resize and its backward against the CPU backend. The backward's
// scratch starts as garbage, as device memory does.
static void resize_against_cpu(backend *cpu, const resize_desc &desc, const char *label) {
    int64_t in_count = 1, out_count = 1;
    for (int d = 0; d < desc.rank; d++) {
        in_count *= desc.in_dims[d];
        out_count *= desc.out_dims[d];
    }
    std::vector<float> x = random_values(in_count, -2.0f, 2.0f);
    std::vector<float> got((size_t)out_count, -9.0f), want((size_t)out_count, -9.0f);
    expect_launched(label, illume_cuda_resize(nullptr, &desc, x.data(), got.data()));
    cpu->resize(cpu, &desc, x.data(), want.data());
    expect_same(label, got, want);
    std::vector<float> dy = random_values(out_count, -1.0f, 1.0f);
    std::vector<float> dx_got((size_t)in_count, -9.0f), dx_want((size_t)in_count, -9.0f);
    std::vector<int64_t> scratch(illume_cuda_resize_backward_scratch(&desc) / sizeof(int64_t) + 1, -1);
    char backward_label[160];
    std::snprintf(backward_label, sizeof backward_label, "%s, backward", label);
    expect_launched(backward_label,
                    illume_cuda_resize_backward(nullptr, &desc, scratch.data(), dy.data(), dx_got.data()));
    cpu->resize_backward(cpu, &desc, dy.data(), dx_want.data());
    expect_same(backward_label, dx_got, dx_want);
}

// A Resize from `in` to `out` (scales out / in, as Resize with sizes gives
// them), with a region of interest for tf_crop_and_resize that reaches
// outside the input on the resized axes.
static resize_desc resize_case(resize_mode mode, resize_coordinates coordinates, resize_rounding rounding, int rank,
                               const int64_t *in, const int64_t *out) {
    resize_desc desc = {};
    desc.mode = mode;
    desc.coordinates = coordinates;
    desc.rounding = rounding;
    desc.rank = rank;
    desc.extrapolation_value = 0.375f;
    for (int d = 0; d < rank; d++) {
        desc.in_dims[d] = in[d];
        desc.out_dims[d] = out[d];
        desc.scales[d] = (float)out[d] / (float)in[d];
        bool resized = in[d] != out[d];
        desc.roi_start[d] = resized ? -0.15f : 0.0f;
        desc.roi_end[d] = resized ? 1.2f : 1.0f;
    }
    return desc;
}

// Resize nearest in every coordinate and rounding mode and linear in every
// coordinate mode, scaling up and down; linear over three and four axes;
// a size that spans many blocks.
static void resizing(backend *cpu) {
    const resize_coordinates coordinate_modes[] = {RESIZE_HALF_PIXEL,        RESIZE_PYTORCH_HALF_PIXEL,
                                                   RESIZE_ALIGN_CORNERS,     RESIZE_ASYMMETRIC,
                                                   RESIZE_TF_CROP_AND_RESIZE, RESIZE_HALF_PIXEL_SYMMETRIC};
    const resize_rounding roundings[] = {RESIZE_ROUND_PREFER_FLOOR, RESIZE_ROUND_PREFER_CEIL, RESIZE_FLOOR,
                                         RESIZE_CEIL};
    const int64_t in[4] = {2, 3, 5, 7}, up[4] = {2, 3, 11, 16}, down[4] = {2, 3, 3, 4}, single[4] = {2, 3, 1, 5};
    const int64_t *outs[] = {up, down, single};
    const char *names[] = {"up", "down", "to one row"};
    char label[128];
    for (resize_coordinates coordinates : coordinate_modes)
        for (int k = 0; k < 3; k++) {
            for (resize_rounding rounding : roundings) {
                std::snprintf(label, sizeof label, "Resize nearest, coordinates %d, rounding %d, %s",
                              (int)coordinates, (int)rounding, names[k]);
                resize_against_cpu(cpu, resize_case(RESIZE_NEAREST, coordinates, rounding, 4, in, outs[k]), label);
            }
            std::snprintf(label, sizeof label, "Resize linear, coordinates %d, %s", (int)coordinates, names[k]);
            resize_against_cpu(cpu, resize_case(RESIZE_LINEAR, coordinates, RESIZE_ROUND_PREFER_FLOOR, 4, in, outs[k]),
                               label);
        }
    const int64_t volume[3] = {4, 5, 6}, volume_out[3] = {7, 3, 9}, all_in[4] = {2, 3, 4, 5}, all_out[4] = {3, 5, 2, 8};
    for (resize_coordinates coordinates : coordinate_modes) {
        std::snprintf(label, sizeof label, "Resize trilinear, coordinates %d", (int)coordinates);
        resize_against_cpu(cpu, resize_case(RESIZE_LINEAR, coordinates, RESIZE_ROUND_PREFER_FLOOR, 3, volume,
                                            volume_out),
                           label);
        std::snprintf(label, sizeof label, "Resize linear over four axes, coordinates %d", (int)coordinates);
        resize_against_cpu(cpu, resize_case(RESIZE_LINEAR, coordinates, RESIZE_ROUND_PREFER_FLOOR, 4, all_in, all_out),
                           label);
    }
    const int64_t large_in[4] = {2, 3, 30, 40}, large_out[4] = {2, 3, 61, 83};
    resize_against_cpu(cpu, resize_case(RESIZE_LINEAR, RESIZE_HALF_PIXEL, RESIZE_ROUND_PREFER_FLOOR, 4, large_in,
                                        large_out),
                       "Resize linear, many blocks");
    resize_against_cpu(cpu, resize_case(RESIZE_NEAREST, RESIZE_ASYMMETRIC, RESIZE_FLOOR, 4, large_out, large_in),
                       "Resize nearest down, many blocks");
}

// Inference batch normalization over several (batch, channels, spatial)
// shapes: one element, channels without spatial extent, a size over many
// blocks; two with a fused Relu.
static void batch_normalization(backend *cpu) {
    const batchnorm_desc shapes[] = {{1, 1, 1, 1e-5f, 0, 0},  {2, 3, 5, 1e-5f, 0, 0},   {2, 64, 1, 1e-3f, 0, 0},
                                     {4, 16, 49, 1e-5f, 0, 0}, {3, 7, 300, 0.1f, 0, 0}, {2, 3, 5, 1e-5f, 0, 1},
                                     {3, 7, 300, 0.1f, 0, 1}};
    for (const batchnorm_desc &desc : shapes) {
        int64_t count = desc.batch * desc.channels * desc.spatial;
        std::vector<float> x = random_values(count, -3.0f, 3.0f);
        std::vector<float> scale = random_values(desc.channels, -2.0f, 2.0f);
        std::vector<float> shift = random_values(desc.channels, -1.0f, 1.0f);
        std::vector<float> mean = random_values(desc.channels, -1.0f, 1.0f);
        std::vector<float> variance = random_values(desc.channels, 0.0f, 2.0f);
        std::vector<float> got((size_t)count, -9.0f), want((size_t)count, -9.0f);
        char label[96];
        std::snprintf(label, sizeof label, "batch normalization (%lld, %lld, %lld)%s", (long long)desc.batch,
                      (long long)desc.channels, (long long)desc.spatial, desc.relu ? " and Relu" : "");
        expect_launched(label, illume_cuda_batchnorm(nullptr, &desc, x.data(), scale.data(), shift.data(),
                                                     mean.data(), variance.data(), got.data()));
        void *state = nullptr;
        cpu->batchnorm(cpu, &desc, &state, x.data(), scale.data(), shift.data(), mean.data(), variance.data(),
                       want.data());
        if (state) cpu->release_state(cpu, state);
        expect_same(label, got, want);
    }
}

// LRN and its two-kernel backward: odd and even windows, a window of one
// channel and one wider than all, one channel, and a size over one grid.
static void local_response_normalization(backend *cpu) {
    const int64_t grid = (int64_t)ILLUME_CUDA_THREADS * ILLUME_CUDA_MAX_BLOCKS;
    const lrn_desc shapes[] = {{2, 6, 20, 3, 0.8f, 0.75f, 1.0f}, {3, 7, 13, 4, 1.5f, 0.6f, 2.0f},
                               {1, 5, 300, 2, 1.0f, 1.2f, 0.5f}, {2, 5, 6, 8, 3.0f, 0.75f, 1.0f},
                               {2, 4, 9, 1, 0.5f, 1.0f, 1.0f},   {4, 1, 11, 5, 0.9f, 0.75f, 1.0f},
                               {1, 2, grid / 2 + 50, 2, 1e-4f, 0.75f, 1.0f}};
    for (const lrn_desc &desc : shapes) {
        int64_t count = desc.batch * desc.channels * desc.spatial;
        std::vector<float> x = random_values(count, -2.0f, 2.0f, true), dy = random_values(count, -1.0f, 1.0f);
        std::vector<float> got((size_t)count, -9.0f), want((size_t)count, -9.0f);
        char label[96];
        std::snprintf(label, sizeof label, "LRN of size %lld over (%lld, %lld, %lld)", (long long)desc.size,
                      (long long)desc.batch, (long long)desc.channels, (long long)desc.spatial);
        expect_launched(label, illume_cuda_lrn(nullptr, &desc, x.data(), got.data()));
        cpu->lrn(cpu, &desc, x.data(), want.data());
        expect_same(label, got, want);
        std::vector<float> terms((size_t)count, -9.0f), terms_cpu((size_t)count, -9.0f);
        std::snprintf(label, sizeof label, "LRN backward of size %lld over (%lld, %lld, %lld)", (long long)desc.size,
                      (long long)desc.batch, (long long)desc.channels, (long long)desc.spatial);
        expect_launched(label, illume_cuda_lrn_backward(nullptr, &desc, x.data(), dy.data(), terms.data(), got.data()));
        cpu->lrn_backward(cpu, &desc, x.data(), dy.data(), terms_cpu.data(), want.data());
        expect_same(label, got, want);
    }
}

// Grad-CAM and Grad-CAM++: planes smaller and larger than a block (the
// block's threads then take several elements each), one and several rows.
static void class_activation_maps(backend *cpu) {
    struct shape {
        int64_t rows, channels, plane;
    };
    const shape shapes[] = {{1, 3, 49}, {2, 5, 700}, {3, 2, 1}};
    for (const shape &s : shapes)
        for (int variant = 0; variant < 4; variant++) {
            int plus_plus = variant & 1, channels_last = variant >> 1;
            int64_t elements = s.rows * s.channels * s.plane;
            std::vector<float> activation = random_values(elements, 0.0f, 2.0f, true);
            std::vector<float> gradient = random_values(elements, -1.0f, 1.0f, true);
            std::vector<float> weights_got((size_t)(s.rows * s.channels)), weights_want(weights_got.size());
            std::vector<float> maps_got((size_t)(s.rows * s.plane)), maps_want(maps_got.size());
            class_activation_desc desc = {s.rows, s.channels, s.plane, plus_plus, channels_last};
            char label[96];
            std::snprintf(label, sizeof label, "%s of (%lld, %lld, %lld)%s", plus_plus ? "Grad-CAM++" : "Grad-CAM",
                          (long long)s.rows, (long long)s.channels, (long long)s.plane,
                          channels_last ? ", channels last" : "");
            expect_launched(label, illume_cuda_class_activation(nullptr, &desc, activation.data(), gradient.data(),
                                                                weights_got.data(), maps_got.data()));
            cpu->class_activation(cpu, &desc, activation.data(), gradient.data(), weights_want.data(),
                                  maps_want.data());
            expect_same(label, weights_got, weights_want);
            expect_same(label, maps_got, maps_want);
        }
}

int main() {
    illume_context *context = illume_context_create();
    backend *cpu = cpu_backend_create(context, backend_options());
    if (!cpu) {
        std::printf("FAIL the CPU backend: %s\n", illume_last_error(context));
        return 1;
    }
    fills_and_terms(cpu);
    unary_kinds(cpu);
    broadcast_and_copies(cpu);
    relevance_and_deeplift(cpu);
    pooling(cpu);
    whole_plane_pooling(cpu);
    reductions(cpu);
    padding(cpu);
    resizing(cpu);
    batch_normalization(cpu);
    local_response_normalization(cpu);
    noise_draws(cpu);
    class_activation_maps(cpu);
    cpu->destroy(cpu);
    illume_context_destroy(context);
    std::printf("cuda/kernels: %d cases, %d failures, %lld launches on the CPU harness\n", cases, failures,
                harness_launches);
    return failures ? 1 : 0;
}
