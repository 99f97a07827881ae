/* test_cuda_backend (label gpu): the CUDA backend against the CPU backend
 * through the backend table, on a CUDA device: the element-wise ops it runs
 * (every unary kind and its backward under every Relu rule, every broadcast
 * binary kind and its backward, strided copies, fills, LRP's ratio and terms, DeepLIFT's
 * steps and RevealCancel, max and average pooling and their backward,
 * softmax and its backward, reductions, batch normalization, LRN and its
 * backward, Pad in every mode and Resize (nearest, linear,
 * tf_crop_and_resize) and their backward; convolutions forward (bias, fused
 * Relu, residual accumulation, groups; transposed, unevenly padded; on fast
 * and autotuned backends too) and backward-data on cuDNN, matrix
 * products on cuBLAS (transposes, bias, beta, broadcast batches)),
 * SmoothGrad's noise (bit for bit), Grad-CAM's weights and maps, on
 * the same inputs uploaded to the device.
 * Without a CUDA device (or a build without the CUDA backend) it reports
 * skipped: exit code 77. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "context.h"

#define COUNT 4099
#define SKIPPED 77

static int failures, cases;
static uint64_t state = 0x243F6A8885A308D3ull;

static float uniform(float low, float high) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return low + (high - low) * (float)((state >> 40) & 0xFFFFFF) / 16777216.0f;
}

static void random_values(float *values, int64_t count, float low, float high) {
    for (int64_t i = 0; i < count; i++) values[i] = uniform(low, high);
}

/* Device copies of host arrays, and the way back. */
typedef struct device_buffers {
    backend *gpu;
    float *pointers[8];
    int count;
} device_buffers;

static float *to_device(device_buffers *buffers, const float *host, int64_t count) {
    float *device = buffers->gpu->allocate(buffers->gpu, sizeof(float) * (size_t)count);
    if (device && host) buffers->gpu->upload(buffers->gpu, device, host, sizeof(float) * (size_t)count);
    buffers->pointers[buffers->count++] = device;
    return device;
}

static void release_all(device_buffers *buffers) {
    for (int k = 0; k < buffers->count; k++) buffers->gpu->release(buffers->gpu, buffers->pointers[k]);
    buffers->count = 0;
}

/* The device's result within `tolerance` of the CPU's, relative to max(1, |want|). */
static void expect_close(const char *label, backend *gpu, illume_status status, const float *device, const float *want,
                         int64_t count, double tolerance) {
    cases++;
    float *got = malloc(sizeof(float) * (size_t)count);
    if (status == ILLUME_OK) status = gpu->download(gpu, got, device, sizeof(float) * (size_t)count);
    if (status == ILLUME_OK) status = gpu->synchronize(gpu);
    double worst = 0.0;
    for (int64_t i = 0; status == ILLUME_OK && i < count; i++) {
        /* Equal values (infinities included) and NaN beside NaN (outside an op's domain) agree. */
        if (got[i] == want[i] || (isnan(got[i]) && isnan(want[i]))) continue;
        double scale = fabs(want[i]) > 1.0 ? fabs(want[i]) : 1.0, error = fabs((double)got[i] - want[i]) / scale;
        if (!(error <= worst)) worst = isnan(error) ? 1.0 : error;
    }
    if (status != ILLUME_OK || worst > tolerance) {
        failures++;
        printf("FAIL %s: %s (largest relative difference %.3g)\n", label,
               status == ILLUME_OK ? "CUDA differs from the CPU" : illume_last_error(gpu->context), worst);
    }
    free(got);
}

/* Device math libraries round expf, tanhf and divisions within a few ulp of glibc's. */
static void expect_same(const char *label, backend *gpu, illume_status status, const float *device, const float *want,
                        int64_t count) {
    expect_close(label, gpu, status, device, want, count, 1e-5);
}

static void unary_ops(backend *cpu, backend *gpu) {
    float x[COUNT], dy[COUNT], want[COUNT], y[COUNT];
    random_values(x, COUNT, -4.0f, 4.0f);
    random_values(dy, COUNT, -1.0f, 1.0f);
    for (int kind = UNARY_COPY; kind <= UNARY_SIGN; kind++) {
        device_buffers buffers = {gpu, {0}, 0};
        unary_desc desc = {(unary_kind)kind, kind == UNARY_CLIP ? -0.5f : 0.2f, 0.6f, COUNT};
        float *device_x = to_device(&buffers, x, COUNT), *device_y = to_device(&buffers, NULL, COUNT);
        char label[80];
        snprintf(label, sizeof label, "unary kind %d", kind);
        cpu->unary(cpu, &desc, x, want);
        expect_same(label, gpu, gpu->unary(gpu, &desc, device_x, device_y), device_y, want, COUNT);
        memcpy(y, want, sizeof y);
        float *device_dy = to_device(&buffers, dy, COUNT), *device_dx = to_device(&buffers, NULL, COUNT);
        for (int rule = RULE_GRADIENT; rule <= RULE_DECONV; rule++) {
            unary_backward_desc backward = {(unary_kind)kind, desc.alpha, desc.beta, COUNT, (gradient_rule)rule};
            snprintf(label, sizeof label, "unary backward kind %d rule %d", kind, rule);
            cpu->unary_backward(cpu, &backward, x, y, dy, want);
            expect_same(label, gpu, gpu->unary_backward(gpu, &backward, device_x, device_y, device_dy, device_dx),
                        device_dx, want, COUNT);
        }
        release_all(&buffers);
    }
}

static void binary_ops(backend *cpu, backend *gpu) {
    float a[15], b[20], want[60], source[42], target[80];
    random_values(a, 15, -2.0f, 2.0f);
    random_values(b, 20, 0.5f, 2.0f);
    for (int kind = BINARY_ADD; kind <= BINARY_MIN; kind++) {
        device_buffers buffers = {gpu, {0}, 0};
        binary_desc desc = {(binary_kind)kind, 3, {3, 4, 5}, {5, 0, 1}, {0, 5, 1}};
        float *device_a = to_device(&buffers, a, 15), *device_b = to_device(&buffers, b, 20);
        float *device_y = to_device(&buffers, NULL, 60);
        char label[64];
        snprintf(label, sizeof label, "binary kind %d, broadcast", kind);
        cpu->binary(cpu, &desc, a, b, want);
        expect_same(label, gpu, gpu->binary(gpu, &desc, device_a, device_b, device_y), device_y, want, 60);
        float dy[60], gradient[20];
        random_values(dy, 60, -1.0f, 1.0f);
        float *device_dy = to_device(&buffers, dy, 60), *device_gradient = to_device(&buffers, NULL, 20);
        for (int operand = 0; operand < 2; operand++) {
            snprintf(label, sizeof label, "binary kind %d backward, operand %d", kind, operand);
            cpu->binary_backward(cpu, &desc, operand, a, b, dy, gradient);
            expect_same(label, gpu,
                        gpu->binary_backward(gpu, &desc, operand, device_a, device_b, device_dy, device_gradient),
                        device_gradient, gradient, operand == 0 ? 15 : 20);
        }
        release_all(&buffers);
    }
    random_values(source, 42, -1.0f, 1.0f);
    random_values(target, 80, -1.0f, 1.0f);
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        device_buffers buffers = {gpu, {0}, 0};
        copy_desc desc = {2, {7, 6}, {1, 7}, {10, 1}, 0, 3, accumulate};
        float *device_x = to_device(&buffers, source, 42), *device_y = to_device(&buffers, target, 80);
        float expected[80];
        memcpy(expected, target, sizeof expected);
        cpu->copy(cpu, &desc, source, expected);
        expect_same(accumulate ? "strided copy, accumulated" : "strided copy", gpu,
                    gpu->copy(gpu, &desc, device_x, device_y), device_y, expected, 80);
        release_all(&buffers);
    }
}

static void relevance_ops(backend *cpu, backend *gpu) {
    enum { HALF = 1000 };
    static float x[2 * HALF], y[2 * HALF], dy[2 * HALF], z[2 * HALF], want[2 * HALF], other[2 * HALF];
    random_values(x, 2 * HALF, -2.0f, 2.0f);
    random_values(y, 2 * HALF, -2.0f, 2.0f);
    random_values(dy, 2 * HALF, -1.0f, 1.0f);
    random_values(z, 2 * HALF, -1.0f, 1.0f);
    for (int i = 0; i < HALF; i += 7) x[i + HALF] = x[i];
    device_buffers buffers = {gpu, {0}, 0};
    float *device_x = to_device(&buffers, x, 2 * HALF), *device_y = to_device(&buffers, y, 2 * HALF);
    float *device_dy = to_device(&buffers, dy, 2 * HALF), *device_z = to_device(&buffers, z, 2 * HALF);
    float *device_out = to_device(&buffers, NULL, 2 * HALF), *device_other = to_device(&buffers, NULL, 2 * HALF);
    for (int gate = 0; gate < 3; gate++) {
        relevance_ratio_desc desc = {2 * HALF, 1e-3f, gate};
        cpu->relevance_ratio(cpu, &desc, dy, z, x, want);
        expect_same("relevance ratio", gpu, gpu->relevance_ratio(gpu, &desc, device_dy, device_z, device_x, device_out),
                    device_out, want, 2 * HALF);
    }
    memcpy(want, z, sizeof want);
    gpu->upload(gpu, device_out, z, sizeof z);
    cpu->relevance_term(cpu, 2 * HALF, -0.5f, x, y, want);
    expect_same("relevance term", gpu, gpu->relevance_term(gpu, 2 * HALF, -0.5f, device_x, device_y, device_out),
                device_out, want, 2 * HALF);
    for (int step = DEEPLIFT_RESCALE; step <= DEEPLIFT_NEGATIVE_SHARE; step++) {
        memcpy(want, z, sizeof want);
        gpu->upload(gpu, device_out, z, sizeof z);
        char label[48];
        snprintf(label, sizeof label, "DeepLIFT step %d", step);
        cpu->deeplift(cpu, (deeplift_step)step, HALF, x, y, dy, want);
        expect_same(label, gpu, gpu->deeplift(gpu, (deeplift_step)step, HALF, device_x, device_y, device_dy, device_out),
                    device_out, want, 2 * HALF);
    }
    reveal_cancel_desc desc = {HALF, UNARY_TANH, 0.0f, 0.0f};
    cpu->reveal_cancel(cpu, &desc, x, y, z, dy, want, other);
    illume_status status = gpu->reveal_cancel(gpu, &desc, device_x, device_y, device_z, device_dy, device_out,
                                              device_other);
    expect_same("RevealCancel, positive part", gpu, status, device_out, want, 2 * HALF);
    expect_same("RevealCancel, negative part", gpu, status, device_other, other, 2 * HALF);
    release_all(&buffers);
}

static void reduction_ops(backend *cpu, backend *gpu) {
    static float x[120], dy[120], want[120], dx[120];
    random_values(x, 120, -6.0f, 6.0f);
    random_values(dy, 120, -1.0f, 1.0f);
    device_buffers buffers = {gpu, {0}, 0};
    float *device_x = to_device(&buffers, x, 120), *device_dy = to_device(&buffers, dy, 120);
    float *device_y = to_device(&buffers, NULL, 120), *device_dx = to_device(&buffers, NULL, 120);
    for (int log_softmax = 0; log_softmax < 2; log_softmax++) {
        softmax_desc desc = {4, 5, 6, log_softmax};
        cpu->softmax(cpu, &desc, x, want);
        expect_same("softmax", gpu, gpu->softmax(gpu, &desc, device_x, device_y), device_y, want, 120);
        cpu->softmax_backward(cpu, &desc, want, dy, dx);
        expect_same("softmax backward", gpu, gpu->softmax_backward(gpu, &desc, device_y, device_dy, device_dx),
                    device_dx, dx, 120);
    }
    for (int kind = REDUCE_MEAN; kind <= REDUCE_MAX; kind++) {
        reduce_desc desc = {(reduce_kind)kind, 4, {3, 4, 5, 2}, {0, 1, 0, 1}};
        cpu->reduce(cpu, &desc, x, want);
        expect_same("reduction", gpu, gpu->reduce(gpu, &desc, device_x, device_y), device_y, want, 15);
    }
    release_all(&buffers);
}

static void convolution_ops(backend *cpu, backend *gpu) {
    enum { N = 2, C = 4, F = 6, SIDE = 9, OUT = 5, K = 3 };
    static float x[N * C * SIDE * SIDE], w[F * C * K * K], bias[F], y[N * F * OUT * OUT], dy[N * F * OUT * OUT];
    static float dx[N * C * SIDE * SIDE];
    random_values(x, N * C * SIDE * SIDE, -1.0f, 1.0f);
    random_values(w, F * C * K * K, -0.5f, 0.5f);
    random_values(bias, F, -0.2f, 0.2f);
    random_values(dy, N * F * OUT * OUT, -1.0f, 1.0f);
    for (int variant = 0; variant < 3; variant++) {
        /* plain; with a fused Relu and an accumulated residual; grouped (2 groups) */
        int64_t groups = variant == 2 ? 2 : 1;
        convolution_desc desc = {.spatial_rank = 2, .batch = N, .in_channels = C, .out_channels = F, .groups = groups,
                                 .in_size = {SIDE, SIDE}, .out_size = {OUT, OUT}, .kernel = {K, K}, .stride = {2, 2},
                                 .dilation = {1, 1}, .pad_begin = {1, 1}, .pad_end = {1, 1}, .constant_weights = 1,
                                 .activation = variant == 1 ? UNARY_RELU : UNARY_COPY, .accumulate = variant == 1};
        device_buffers buffers = {gpu, {0}, 0};
        float *device_x = to_device(&buffers, x, N * C * SIDE * SIDE);
        float *device_w = to_device(&buffers, w, F * (C / groups) * K * K), *device_bias = to_device(&buffers, bias, F);
        float *device_y = to_device(&buffers, dy, N * F * OUT * OUT); /* dy serves as the residual accumulated into */
        float *device_dy = to_device(&buffers, dy, N * F * OUT * OUT);
        float *device_dx = to_device(&buffers, NULL, N * C * SIDE * SIDE);
        void *cpu_state = NULL, *gpu_state = NULL, *cpu_backward = NULL, *gpu_backward = NULL;
        memcpy(y, dy, sizeof y);
        char label[64];
        snprintf(label, sizeof label, "convolution variant %d", variant);
        cpu->convolution(cpu, &desc, &cpu_state, x, w, bias, y);
        expect_same(label, gpu, gpu->convolution(gpu, &desc, &gpu_state, device_x, device_w, device_bias, device_y),
                    device_y, y, N * F * OUT * OUT);
        convolution_desc plain = desc;
        plain.activation = UNARY_COPY;
        plain.accumulate = 0;
        snprintf(label, sizeof label, "convolution backward-data variant %d", variant);
        cpu->convolution_backward(cpu, &plain, &cpu_backward, dy, w, dx);
        expect_same(label, gpu, gpu->convolution_backward(gpu, &plain, &gpu_backward, device_dy, device_w, device_dx),
                    device_dx, dx, N * C * SIDE * SIDE);
        if (cpu_state) cpu->release_state(cpu, cpu_state);
        if (cpu_backward) cpu->release_state(cpu, cpu_backward);
        if (gpu_state) gpu->release_state(gpu, gpu_state);
        if (gpu_backward) gpu->release_state(gpu, gpu_backward);
        release_all(&buffers);
    }
}

static int64_t tensor_elements(int64_t n, int64_t c, int rank, const int64_t *size) {
    int64_t count = n * c;
    for (int d = 0; d < rank; d++) count *= size[d];
    return count;
}

/* One convolution forward (onto a residual in y when it accumulates) and
 * its backward-data, on the CUDA backend and the CPU's. */
static void compare_convolution(backend *cpu, backend *gpu, const char *name, const convolution_desc *desc,
                                double tolerance) {
    int rank = desc->spatial_rank;
    int64_t x_count = tensor_elements(desc->batch, desc->in_channels, rank, desc->in_size);
    int64_t y_count = tensor_elements(desc->batch, desc->out_channels, rank, desc->out_size);
    int64_t w_count = tensor_elements(desc->in_channels, desc->out_channels / desc->groups, rank, desc->kernel);
    float *x = malloc(sizeof(float) * (size_t)x_count), *dx = malloc(sizeof(float) * (size_t)x_count);
    float *y = malloc(sizeof(float) * (size_t)y_count), *dy = malloc(sizeof(float) * (size_t)y_count);
    float *w = malloc(sizeof(float) * (size_t)w_count), *bias = malloc(sizeof(float) * (size_t)desc->out_channels);
    random_values(x, x_count, -1.0f, 1.0f);
    random_values(dy, y_count, -1.0f, 1.0f);
    random_values(w, w_count, -0.5f, 0.5f);
    random_values(bias, desc->out_channels, -0.2f, 0.2f);
    device_buffers buffers = {gpu, {0}, 0};
    float *device_x = to_device(&buffers, x, x_count), *device_w = to_device(&buffers, w, w_count);
    float *device_bias = to_device(&buffers, bias, desc->out_channels);
    float *device_y = to_device(&buffers, dy, y_count); /* dy serves as the residual accumulated into */
    float *device_dy = to_device(&buffers, dy, y_count), *device_dx = to_device(&buffers, NULL, x_count);
    void *cpu_state = NULL, *gpu_state = NULL, *cpu_backward = NULL, *gpu_backward = NULL;
    memcpy(y, dy, sizeof(float) * (size_t)y_count);
    char label[256];
    snprintf(label, sizeof label, "%s: forward", name);
    cpu->convolution(cpu, desc, &cpu_state, x, w, bias, y);
    expect_close(label, gpu, gpu->convolution(gpu, desc, &gpu_state, device_x, device_w, device_bias, device_y),
                 device_y, y, y_count, tolerance);
    convolution_desc plain = *desc;
    plain.activation = UNARY_COPY;
    plain.accumulate = 0;
    snprintf(label, sizeof label, "%s: backward-data", name);
    cpu->convolution_backward(cpu, &plain, &cpu_backward, dy, w, dx);
    expect_close(label, gpu, gpu->convolution_backward(gpu, &plain, &gpu_backward, device_dy, device_w, device_dx),
                 device_dx, dx, x_count, tolerance);
    /* A second call reuses the node's state (and its padded image, whose margins must still be zero). */
    snprintf(label, sizeof label, "%s: backward-data again", name);
    expect_close(label, gpu, gpu->convolution_backward(gpu, &plain, &gpu_backward, device_dy, device_w, device_dx),
                 device_dx, dx, x_count, tolerance);
    if (cpu_state) cpu->release_state(cpu, cpu_state);
    if (cpu_backward) cpu->release_state(cpu, cpu_backward);
    if (gpu_state) gpu->release_state(gpu, gpu_state);
    if (gpu_backward) gpu->release_state(gpu, gpu_backward);
    release_all(&buffers);
    free(x), free(dx), free(y), free(dy), free(w), free(bias);
}

/* Transposed convolutions (groups, strides, output_padding as a negative
 * end pad) and uneven pads, as runtime/ops/conv.c and conv_transpose.c
 * describe them: out = stride (in - 1) + dilated kernel - pad_begin -
 * pad_end transposed, (in + pads - dilated kernel) / stride + 1 plain. */
static void convolution_shapes(backend *cpu, backend *gpu, const char *mode, double tolerance) {
    const struct {
        const char *name;
        convolution_desc desc;
    } shapes[] = {
        {"transposed, 2 groups, stride 2, even pads, bias, Relu onto a residual",
         {.spatial_rank = 2, .batch = 2, .in_channels = 4, .out_channels = 6, .groups = 2, .in_size = {5, 4},
          .out_size = {9, 7}, .kernel = {3, 3}, .stride = {2, 2}, .dilation = {1, 1}, .pad_begin = {1, 1},
          .pad_end = {1, 1}, .transpose = 1, .constant_weights = 1, .activation = UNARY_RELU, .accumulate = 1}},
        {"transposed, stride 2, output_padding 1 (a cropped image)",
         {.spatial_rank = 2, .batch = 2, .in_channels = 3, .out_channels = 4, .groups = 1, .in_size = {4, 5},
          .out_size = {10, 12}, .kernel = {3, 3}, .stride = {2, 2}, .dilation = {1, 1}, .pad_begin = {0, 0},
          .pad_end = {-1, -1}, .transpose = 1, .constant_weights = 1, .activation = UNARY_COPY}},
        {"transposed, output_padding onto a residual",
         {.spatial_rank = 2, .batch = 1, .in_channels = 2, .out_channels = 4, .groups = 2, .in_size = {4, 4},
          .out_size = {8, 9}, .kernel = {2, 3}, .stride = {2, 2}, .dilation = {1, 1}, .pad_begin = {0, 1},
          .pad_end = {0, -1}, .transpose = 1, .constant_weights = 1, .activation = UNARY_COPY, .accumulate = 1}},
        {"transposed, strides 2 and 3, dilation 2, uneven pads (an output_shape)",
         {.spatial_rank = 2, .batch = 2, .in_channels = 4, .out_channels = 2, .groups = 1, .in_size = {3, 4},
          .out_size = {6, 11}, .kernel = {3, 2}, .stride = {2, 3}, .dilation = {2, 1}, .pad_begin = {1, 0},
          .pad_end = {2, 0}, .transpose = 1, .constant_weights = 1, .activation = UNARY_COPY}},
        {"transposed 1-D, stride 3",
         {.spatial_rank = 1, .batch = 2, .in_channels = 3, .out_channels = 5, .groups = 1, .in_size = {7},
          .out_size = {21}, .kernel = {4}, .stride = {3}, .dilation = {1}, .pad_begin = {1}, .pad_end = {0},
          .transpose = 1, .constant_weights = 1, .activation = UNARY_COPY}},
        {"SAME_UPPER, stride 2 (pads 0 and 1), bias, Relu",
         {.spatial_rank = 2, .batch = 2, .in_channels = 4, .out_channels = 6, .groups = 1, .in_size = {8, 8},
          .out_size = {4, 4}, .kernel = {3, 3}, .stride = {2, 2}, .dilation = {1, 1}, .pad_begin = {0, 0},
          .pad_end = {1, 1}, .constant_weights = 1, .activation = UNARY_RELU}},
        {"uneven pads on one axis, 2 groups, onto a residual",
         {.spatial_rank = 2, .batch = 2, .in_channels = 4, .out_channels = 4, .groups = 2, .in_size = {7, 6},
          .out_size = {7, 6}, .kernel = {4, 3}, .stride = {1, 1}, .dilation = {1, 1}, .pad_begin = {2, 1},
          .pad_end = {1, 1}, .constant_weights = 1, .activation = UNARY_COPY, .accumulate = 1}},
        {"uneven pads 1-D, dilation 2",
         {.spatial_rank = 1, .batch = 3, .in_channels = 2, .out_channels = 3, .groups = 1, .in_size = {11},
          .out_size = {11}, .kernel = {3}, .stride = {1}, .dilation = {2}, .pad_begin = {3}, .pad_end = {1},
          .constant_weights = 1, .activation = UNARY_COPY}},
        {"uneven pads 3-D",
         {.spatial_rank = 3, .batch = 1, .in_channels = 2, .out_channels = 3, .groups = 1, .in_size = {4, 5, 6},
          .out_size = {2, 3, 3}, .kernel = {2, 2, 3}, .stride = {2, 2, 2}, .dilation = {1, 1, 1},
          .pad_begin = {0, 1, 0}, .pad_end = {0, 0, 1}, .constant_weights = 1, .activation = UNARY_COPY}},
        {"plain (even pads), stride 2",
         {.spatial_rank = 2, .batch = 2, .in_channels = 4, .out_channels = 6, .groups = 1, .in_size = {9, 9},
          .out_size = {5, 5}, .kernel = {3, 3}, .stride = {2, 2}, .dilation = {1, 1}, .pad_begin = {1, 1},
          .pad_end = {1, 1}, .constant_weights = 1, .activation = UNARY_COPY}},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        char name[192];
        snprintf(name, sizeof name, "%s convolution, %s", mode, shapes[k].name);
        compare_convolution(cpu, gpu, name, &shapes[k].desc, tolerance);
    }
}

static void matmul_ops(backend *cpu, backend *gpu) {
    static float a[2 * 3 * 7], b[5 * 7], bias[5], y[2 * 3 * 5], start[2 * 3 * 5];
    random_values(a, 2 * 3 * 7, -1.0f, 1.0f);
    random_values(b, 5 * 7, -1.0f, 1.0f);
    random_values(bias, 5, -0.5f, 0.5f);
    random_values(start, 2 * 3 * 5, -1.0f, 1.0f);
    const matmul_desc cases[] = {
        /* Gemm: (3, 7) x (5, 7)^T + bias */
        {.rank = 2, .a_dims = {3, 7}, .b_dims = {5, 7}, .y_dims = {3, 5}, .transpose_b = 1, .alpha = 1.0f,
         .has_bias = 1, .constant_b = 1},
        /* alpha and beta, a transposed: (7, 3)^T x (7, 5) */
        {.rank = 2, .a_dims = {7, 3}, .b_dims = {7, 5}, .y_dims = {3, 5}, .transpose_a = 1, .alpha = 0.5f,
         .beta = 2.0f},
        /* MatMul with a broadcast batch: (2, 3, 7) x (1, 7, 5) */
        {.rank = 3, .a_dims = {2, 3, 7}, .b_dims = {1, 7, 5}, .y_dims = {2, 3, 5}, .alpha = 1.0f},
        /* an empty inner dimension, (3, 0) x (0, 5): beta y + bias, no product */
        {.rank = 2, .a_dims = {3, 0}, .b_dims = {0, 5}, .y_dims = {3, 5}, .alpha = 1.0f, .beta = 0.5f,
         .has_bias = 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const matmul_desc *desc = &cases[k];
        device_buffers buffers = {gpu, {0}, 0};
        float *device_a = to_device(&buffers, a, 2 * 3 * 7), *device_b = to_device(&buffers, b, 5 * 7);
        float *device_bias = to_device(&buffers, bias, 5), *device_y = to_device(&buffers, start, 2 * 3 * 5);
        void *cpu_state = NULL, *gpu_state = NULL;
        memcpy(y, start, sizeof y);
        int64_t count = desc->rank == 3 ? 30 : 15;
        char label[48];
        snprintf(label, sizeof label, "matrix product case %zu", k);
        cpu->matmul(cpu, desc, &cpu_state, a, b, desc->has_bias ? bias : NULL, y);
        expect_same(label, gpu,
                    gpu->matmul(gpu, desc, &gpu_state, device_a, device_b, desc->has_bias ? device_bias : NULL,
                                device_y),
                    device_y, y, count);
        if (cpu_state) cpu->release_state(cpu, cpu_state);
        if (gpu_state) gpu->release_state(gpu, gpu_state);
        release_all(&buffers);
    }
}

static void pool_ops(backend *cpu, backend *gpu) {
    enum { PLANES = 4, SIDE = 9, OUT = 5 };
    static float x[PLANES * SIDE * SIDE], y[PLANES * OUT * OUT], dy[PLANES * OUT * OUT], dx[PLANES * SIDE * SIDE];
    static int32_t argmax[PLANES * OUT * OUT];
    random_values(x, PLANES * SIDE * SIDE, -2.0f, 2.0f);
    random_values(dy, PLANES * OUT * OUT, -1.0f, 1.0f);
    for (int kind = POOL_MAX; kind <= POOL_AVERAGE; kind++) {
        pool_desc desc = {.kind = (pool_kind)kind, .spatial_rank = 2, .planes = PLANES, .in_size = {SIDE, SIDE},
                          .out_size = {OUT, OUT}, .kernel = {3, 3}, .stride = {2, 2}, .dilation = {1, 1},
                          .pad_begin = {1, 1}, .pad_end = {1, 1}};
        device_buffers buffers = {gpu, {0}, 0};
        float *device_x = to_device(&buffers, x, PLANES * SIDE * SIDE), *device_y = to_device(&buffers, NULL, PLANES * OUT * OUT);
        float *device_dy = to_device(&buffers, dy, PLANES * OUT * OUT);
        float *device_dx = to_device(&buffers, NULL, PLANES * SIDE * SIDE);
        /* int32 argmax in a buffer of as many floats */
        int32_t *device_argmax = kind == POOL_MAX ? (int32_t *)to_device(&buffers, NULL, PLANES * OUT * OUT) : NULL;
        cpu->pool(cpu, &desc, x, y, kind == POOL_MAX ? argmax : NULL);
        expect_same(kind == POOL_MAX ? "max pooling" : "average pooling", gpu,
                    gpu->pool(gpu, &desc, device_x, device_y, device_argmax), device_y, y, PLANES * OUT * OUT);
        cpu->pool_backward(cpu, &desc, dy, kind == POOL_MAX ? argmax : NULL, dx);
        expect_same(kind == POOL_MAX ? "max pooling backward" : "average pooling backward", gpu,
                    gpu->pool_backward(gpu, &desc, device_dy, device_argmax, device_dx), device_dx, dx,
                    PLANES * SIDE * SIDE);
        release_all(&buffers);
    }
}

/* A seed gives the same noise on both backends, bit for bit. */
static void noise_ops(backend *cpu, backend *gpu) {
    float x[COUNT], want[COUNT], got[COUNT];
    random_values(x, COUNT, -1.0f, 1.0f);
    device_buffers buffers = {gpu, {0}, 0};
    float *device_x = to_device(&buffers, x, COUNT), *device_y = to_device(&buffers, NULL, COUNT);
    noise_desc desc = {20261122ull, 7u, 5, COUNT, 0.25f};
    cpu->noise(cpu, &desc, x, want);
    cases++;
    illume_status status = gpu->noise(gpu, &desc, device_x, device_y);
    if (status == ILLUME_OK) status = gpu->download(gpu, got, device_y, sizeof got);
    if (status == ILLUME_OK) status = gpu->synchronize(gpu);
    int differing = 0;
    for (int64_t i = 0; status == ILLUME_OK && i < COUNT; i++)
        differing += memcmp(&got[i], &want[i], sizeof(float)) != 0;
    if (status != ILLUME_OK || differing) {
        failures++;
        printf("FAIL noise: %s (%d of %d elements differ)\n",
               status == ILLUME_OK ? "the CUDA noise is not the CPU's" : illume_last_error(gpu->context), differing,
               COUNT);
    }
    release_all(&buffers);
}

/* Grad-CAM and Grad-CAM++ weights and maps, planes and channels last. */
static void class_activation_ops(backend *cpu, backend *gpu) {
    enum { ROWS = 2, CHANNELS = 6, PLANE = 300, ELEMENTS = ROWS * CHANNELS * PLANE };
    static float activation[ELEMENTS], gradient[ELEMENTS];
    float weights[ROWS * CHANNELS], maps[ROWS * PLANE];
    random_values(activation, ELEMENTS, 0.0f, 2.0f);
    random_values(gradient, ELEMENTS, -1.0f, 1.0f);
    for (int variant = 0; variant < 4; variant++) {
        device_buffers buffers = {gpu, {0}, 0};
        float *device_activation = to_device(&buffers, activation, ELEMENTS);
        float *device_gradient = to_device(&buffers, gradient, ELEMENTS);
        float *device_weights = to_device(&buffers, NULL, ROWS * CHANNELS);
        float *device_maps = to_device(&buffers, NULL, ROWS * PLANE);
        class_activation_desc desc = {ROWS, CHANNELS, PLANE, variant & 1, variant >> 1};
        char label[80];
        snprintf(label, sizeof label, "%s%s", desc.plus_plus ? "Grad-CAM++" : "Grad-CAM",
                 desc.channels_last ? ", channels last" : "");
        cpu->class_activation(cpu, &desc, activation, gradient, weights, maps);
        illume_status status =
            gpu->class_activation(gpu, &desc, device_activation, device_gradient, device_weights, device_maps);
        expect_same(label, gpu, status, device_weights, weights, ROWS * CHANNELS);
        expect_same(label, gpu, status, device_maps, maps, ROWS * PLANE);
        release_all(&buffers);
    }
}

/* Pad in every mode, padding one axis and cropping another, and its backward. */
static void pad_ops(backend *cpu, backend *gpu) {
    enum { IN = 2 * 3 * 9 * 7, OUT = 2 * 3 * 12 * 9 };
    static float x[IN], y[OUT], dy[OUT], dx[IN];
    random_values(x, IN, -2.0f, 2.0f);
    random_values(dy, OUT, -1.0f, 1.0f);
    for (int mode = PAD_CONSTANT; mode <= PAD_WRAP; mode++) {
        pad_desc desc = {.mode = (pad_mode)mode, .value = 0.5f, .rank = 4, .in_dims = {2, 3, 9, 7},
                         .out_dims = {2, 3, 12, 9}, .pad_begin = {0, 0, 2, -1}};
        device_buffers buffers = {gpu, {0}, 0};
        float *device_x = to_device(&buffers, x, IN), *device_y = to_device(&buffers, NULL, OUT);
        float *device_dy = to_device(&buffers, dy, OUT), *device_dx = to_device(&buffers, NULL, IN);
        char label[48];
        snprintf(label, sizeof label, "Pad mode %d", mode);
        cpu->pad(cpu, &desc, x, y);
        expect_same(label, gpu, gpu->pad(gpu, &desc, device_x, device_y), device_y, y, OUT);
        snprintf(label, sizeof label, "Pad backward mode %d", mode);
        cpu->pad_backward(cpu, &desc, dy, dx);
        expect_same(label, gpu, gpu->pad_backward(gpu, &desc, device_dy, device_dx), device_dx, dx, IN);
        release_all(&buffers);
    }
}

/* Resize up and down, nearest and linear, and tf_crop_and_resize with
 * extrapolation, and their backward passes. */
static void resize_ops(backend *cpu, backend *gpu) {
    enum { IN = 2 * 3 * 10 * 7, OUT = 2 * 3 * 21 * 16 };
    static float x[OUT], y[OUT], dy[OUT], dx[OUT];
    random_values(x, OUT, -2.0f, 2.0f);
    random_values(dy, OUT, -1.0f, 1.0f);
    const struct {
        resize_mode mode;
        resize_coordinates coordinates;
        int down;
    } cases[] = {{RESIZE_NEAREST, RESIZE_ASYMMETRIC, 0},  {RESIZE_NEAREST, RESIZE_HALF_PIXEL, 1},
                 {RESIZE_LINEAR, RESIZE_HALF_PIXEL, 0},    {RESIZE_LINEAR, RESIZE_ALIGN_CORNERS, 1},
                 {RESIZE_LINEAR, RESIZE_PYTORCH_HALF_PIXEL, 1}, {RESIZE_LINEAR, RESIZE_TF_CROP_AND_RESIZE, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int64_t small[2] = {10, 7}, large[2] = {21, 16};
        const int64_t *in = cases[k].down ? large : small, *out = cases[k].down ? small : large;
        resize_desc desc = {.mode = cases[k].mode, .coordinates = cases[k].coordinates,
                            .rounding = RESIZE_ROUND_PREFER_FLOOR, .rank = 4, .in_dims = {2, 3, in[0], in[1]},
                            .out_dims = {2, 3, out[0], out[1]},
                            .scales = {1.0f, 1.0f, (float)out[0] / (float)in[0], (float)out[1] / (float)in[1]},
                            .roi_start = {0.0f, 0.0f, -0.1f, 0.2f}, .roi_end = {1.0f, 1.0f, 0.9f, 1.3f},
                            .extrapolation_value = 0.25f};
        int64_t in_count = 2 * 3 * in[0] * in[1], out_count = 2 * 3 * out[0] * out[1];
        device_buffers buffers = {gpu, {0}, 0};
        float *device_x = to_device(&buffers, x, in_count), *device_y = to_device(&buffers, NULL, out_count);
        float *device_dy = to_device(&buffers, dy, out_count), *device_dx = to_device(&buffers, NULL, in_count);
        char label[48];
        snprintf(label, sizeof label, "Resize case %zu", k);
        cpu->resize(cpu, &desc, x, y);
        expect_same(label, gpu, gpu->resize(gpu, &desc, device_x, device_y), device_y, y, out_count);
        snprintf(label, sizeof label, "Resize backward case %zu", k);
        cpu->resize_backward(cpu, &desc, dy, dx);
        expect_same(label, gpu, gpu->resize_backward(gpu, &desc, device_dy, device_dx), device_dx, dx, in_count);
        release_all(&buffers);
    }
}

static void batchnorm_ops(backend *cpu, backend *gpu) {
    enum { BATCH = 4, CHANNELS = 16, SPATIAL = 49, COUNT_ALL = BATCH * CHANNELS * SPATIAL };
    static float x[COUNT_ALL], y[COUNT_ALL], scale[CHANNELS], shift[CHANNELS], mean[CHANNELS], variance[CHANNELS];
    random_values(x, COUNT_ALL, -3.0f, 3.0f);
    random_values(scale, CHANNELS, -2.0f, 2.0f);
    random_values(shift, CHANNELS, -1.0f, 1.0f);
    random_values(mean, CHANNELS, -1.0f, 1.0f);
    random_values(variance, CHANNELS, 0.0f, 2.0f);
    device_buffers buffers = {gpu, {0}, 0};
    float *device_x = to_device(&buffers, x, COUNT_ALL), *device_y = to_device(&buffers, NULL, COUNT_ALL);
    float *device_scale = to_device(&buffers, scale, CHANNELS), *device_shift = to_device(&buffers, shift, CHANNELS);
    float *device_mean = to_device(&buffers, mean, CHANNELS), *device_variance = to_device(&buffers, variance, CHANNELS);
    for (int relu = 0; relu < 2; relu++) {
        batchnorm_desc desc = {BATCH, CHANNELS, SPATIAL, 1e-5f, 0, relu};
        void *cpu_state = NULL, *gpu_state = NULL;
        cpu->batchnorm(cpu, &desc, &cpu_state, x, scale, shift, mean, variance, y);
        expect_same(relu ? "batch normalization and Relu" : "batch normalization", gpu,
                    gpu->batchnorm(gpu, &desc, &gpu_state, device_x, device_scale, device_shift, device_mean,
                                   device_variance, device_y),
                    device_y, y, COUNT_ALL);
        if (cpu_state) cpu->release_state(cpu, cpu_state);
        if (gpu_state) gpu->release_state(gpu, gpu_state);
    }
    release_all(&buffers);
}

/* LRN and its backward: an odd and an even window (ONNX's leans forward). */
static void lrn_ops(backend *cpu, backend *gpu) {
    enum { BATCH = 3, CHANNELS = 7, SPATIAL = 45, COUNT_ALL = BATCH * CHANNELS * SPATIAL };
    static float x[COUNT_ALL], dy[COUNT_ALL], want[COUNT_ALL], terms[COUNT_ALL];
    random_values(x, COUNT_ALL, -2.0f, 2.0f);
    random_values(dy, COUNT_ALL, -1.0f, 1.0f);
    device_buffers buffers = {gpu, {0}, 0};
    float *device_x = to_device(&buffers, x, COUNT_ALL), *device_dy = to_device(&buffers, dy, COUNT_ALL);
    float *device_y = to_device(&buffers, NULL, COUNT_ALL), *device_terms = to_device(&buffers, NULL, COUNT_ALL);
    for (int64_t size = 3; size <= 4; size++) {
        lrn_desc desc = {BATCH, CHANNELS, SPATIAL, size, 1.5f, 0.75f, 1.0f};
        cpu->lrn(cpu, &desc, x, want);
        expect_same(size == 3 ? "LRN of size 3" : "LRN of size 4", gpu, gpu->lrn(gpu, &desc, device_x, device_y),
                    device_y, want, COUNT_ALL);
        cpu->lrn_backward(cpu, &desc, x, dy, terms, want);
        expect_same(size == 3 ? "LRN backward of size 3" : "LRN backward of size 4", gpu,
                    gpu->lrn_backward(gpu, &desc, device_x, device_dy, device_terms, device_y), device_y, want,
                    COUNT_ALL);
    }
    release_all(&buffers);
}

/* The transfer queues beside the computation, as the explainer uses them:
 * rounds of an upload, a kernel that waits for it, and a download after the
 * kernel, each round's buffers reused two rounds later (after a
 * finish_transfers), as batches in flight reuse their slots. Each round's
 * download must hold its own round's values. */
static void transfers_beside(backend *gpu) {
    enum { ROUNDS = 16, ELEMENTS = 1 << 20 };
    size_t bytes = sizeof(float) * ELEMENTS;
    float *host_in[2], *host_out[2], *device_in[2], *device_out[2];
    int ready = 1;
    for (int k = 0; k < 2; k++) {
        host_in[k] = gpu->allocate_host(gpu, bytes);
        host_out[k] = gpu->allocate_host(gpu, bytes);
        device_in[k] = gpu->allocate(gpu, bytes);
        device_out[k] = gpu->allocate(gpu, bytes);
        ready = ready && host_in[k] && host_out[k] && device_in[k] && device_out[k];
    }
    cases++;
    illume_status status = ready ? ILLUME_OK : ILLUME_ERROR_OUT_OF_MEMORY;
    int wrong = -1;
    unary_desc twice = {UNARY_LINEAR, 2.0f, 1.0f, ELEMENTS};
    for (int round = 0; status == ILLUME_OK && round <= ROUNDS; round++) {
        int slot = round % 2;
        if (round > 0) {
            /* The round before finished its download: check it. */
            status = gpu->finish_transfers(gpu);
            const float *got = host_out[1 - slot];
            for (int i = 0; status == ILLUME_OK && wrong < 0 && i < ELEMENTS; i += 997)
                if (got[i] != 2.0f * (float)(round - 1 + i % 1000) + 1.0f) wrong = round - 1;
        }
        if (round == ROUNDS) break;
        for (int i = 0; i < ELEMENTS; i++) host_in[slot][i] = (float)(round + i % 1000);
        if (status == ILLUME_OK) status = gpu->upload_beside(gpu, device_in[slot], host_in[slot], bytes);
        if (status == ILLUME_OK) status = gpu->wait_uploads(gpu);
        if (status == ILLUME_OK) status = gpu->unary(gpu, &twice, device_in[slot], device_out[slot]);
        if (status == ILLUME_OK) status = gpu->download_after(gpu, host_out[slot], device_out[slot], bytes);
    }
    if (status == ILLUME_OK) status = gpu->synchronize(gpu);
    if (status != ILLUME_OK || wrong >= 0) {
        failures++;
        if (status != ILLUME_OK) printf("FAIL transfers beside the computation: %s\n", illume_last_error(gpu->context));
        else printf("FAIL transfers beside the computation: round %d downloaded another round's values\n", wrong);
    }
    for (int k = 0; k < 2; k++) {
        gpu->release_host(gpu, host_in[k]);
        gpu->release_host(gpu, host_out[k]);
        if (device_in[k]) gpu->release(gpu, device_in[k]);
        if (device_out[k]) gpu->release(gpu, device_out[k]);
    }
}

/* An allocation that fails, and that the caller survives, must not fail the
 * next kernel: the runtime keeps a failed call's error as its last error,
 * which each launch's check reads. */
static void failed_allocation(backend *gpu) {
    static float want[COUNT];
    cases++;
    if (gpu->allocate(gpu, (size_t)1 << 62)) {
        failures++;
        printf("FAIL allocating 2^62 bytes succeeded\n");
        return;
    }
    device_buffers buffers = {gpu, {0}, 0};
    float *device_y = to_device(&buffers, NULL, COUNT);
    for (int i = 0; i < COUNT; i++) want[i] = 2.5f;
    expect_same("a fill after a failed allocation", gpu, gpu->fill(gpu, 2.5f, COUNT, device_y), device_y, want,
                COUNT);
    release_all(&buffers);
}

int main(void) {
    illume_context *context = illume_context_create();
    backend *gpu = backend_create(context, "cuda");
    if (!gpu) {
        printf("SKIP no CUDA backend to test: %s\n", illume_last_error(context));
        illume_context_destroy(context);
        return SKIPPED;
    }
    backend *cpu = cpu_backend_create(context, (backend_options){0});
    unary_ops(cpu, gpu);
    binary_ops(cpu, gpu);
    relevance_ops(cpu, gpu);
    pool_ops(cpu, gpu);
    reduction_ops(cpu, gpu);
    convolution_ops(cpu, gpu);
    convolution_shapes(cpu, gpu, "deterministic", 1e-5);
    matmul_ops(cpu, gpu);
    noise_ops(cpu, gpu);
    class_activation_ops(cpu, gpu);
    pad_ops(cpu, gpu);
    resize_ops(cpu, gpu);
    batchnorm_ops(cpu, gpu);
    lrn_ops(cpu, gpu);
    failed_allocation(gpu);
    transfers_beside(gpu);
    /* TF32 keeps 10 bits of each product's operands: some 1e-3 relative per term. */
    backend *fast = backend_create_with_options(context, "cuda", (backend_options){.fast = 1});
    backend *tuned = backend_create_with_options(context, "cuda", (backend_options){.autotune = 1});
    backend *fast_tuned = backend_create_with_options(context, "cuda", (backend_options){.fast = 1, .autotune = 1});
    if (fast && tuned && fast_tuned) {
        convolution_shapes(cpu, fast, "fast", 1e-2);
        convolution_shapes(cpu, tuned, "autotuned", 1e-5);
        convolution_shapes(cpu, fast_tuned, "fast autotuned", 1e-2);
    } else {
        cases++, failures++;
        printf("FAIL making fast and autotuned CUDA backends: %s\n", illume_last_error(context));
    }
    if (fast) fast->destroy(fast);
    if (tuned) tuned->destroy(tuned);
    if (fast_tuned) fast_tuned->destroy(fast_tuned);
    cpu->destroy(cpu);
    gpu->destroy(gpu);
    illume_context_destroy(context);
    printf("cuda/gpu_backend: %d cases, %d failures\n", cases, failures);
    return failures ? 1 : 0;
}
