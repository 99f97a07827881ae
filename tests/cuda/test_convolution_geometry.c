/* test_convolution_geometry: the way the CUDA backend asks cuDNN for a
 * convolution (runtime/cuda/convolution_geometry.c), run on the CPU. cuDNN
 * is stood in for by the CPU backend's plain convolution with symmetric pads
 * (cuDNN's forward) and its backward-data (cuDNN's backward-data), on the
 * image and result the geometry describes, with the padding copy between our
 * tensors and the padded image; the result must be the CPU backend's own
 * convolution with the original, uneven pads, transposed or not, forward
 * and backward. What is left to a GPU is only cuDNN itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "comparison.h"
#include "context.h"
#include "convolution_geometry.h"

static int failures, cases;

typedef struct shape {
    const char *name;
    int copies; /* the route needs the padding copy (else cuDNN takes the pads as they are) */
    int rank, transpose;
    int64_t batch, in_channels, out_channels, groups;
    int64_t in_size[ILLUME_MAX_SPATIAL], kernel[ILLUME_MAX_SPATIAL], stride[ILLUME_MAX_SPATIAL];
    int64_t dilation[ILLUME_MAX_SPATIAL], pad_begin[ILLUME_MAX_SPATIAL], pad_end[ILLUME_MAX_SPATIAL];
} shape;

/* Uneven pads in 1-D, 2-D and 3-D, plain and transposed; a transposed
 * convolution's output_padding is a negative end pad, as the op describes it,
 * which cuDNN takes without a copy. */
static const shape shapes[] = {
    {"2-D, SAME_UPPER with stride 2", 1, 2, 0, 2, 3, 4, 1, {9, 8}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {1, 1}},
    {"1-D, SAME_UPPER whose extra pad no window reads", 0, 1, 0, 2, 3, 2, 1, {9}, {3}, {2}, {1}, {0}, {1}},
    {"1-D, stride 3, pads 1 and 2", 1, 1, 0, 1, 2, 3, 1, {10}, {4}, {3}, {1}, {1}, {2}},
    {"3-D, dilation 2, groups 2", 1, 3, 0, 1, 4, 6, 2, {7, 6, 5}, {3, 2, 3}, {1, 2, 1}, {2, 1, 2}, {2, 0, 1},
     {0, 1, 3}},
    {"2-D transposed, stride 2, output_padding 1", 0, 2, 1, 2, 4, 3, 1, {5, 4}, {3, 3}, {2, 2}, {1, 1}, {1, 1},
     {0, 0}},
    {"2-D transposed, groups 2, stride 3, pads 2 and 0", 1, 2, 1, 1, 4, 6, 2, {4, 5}, {3, 4}, {3, 3}, {1, 1}, {2, 1},
     {0, 2}},
    {"1-D transposed, dilation 2, output_padding 2", 0, 1, 1, 2, 3, 2, 1, {6}, {3}, {3}, {2}, {1}, {-1}},
};

static int64_t spatial_count(int rank, const int64_t *size) {
    int64_t count = 1;
    for (int d = 0; d < rank; d++) count *= size[d];
    return count;
}

static convolution_desc describe(const shape *s) {
    convolution_desc desc = {.spatial_rank = s->rank, .batch = s->batch, .in_channels = s->in_channels,
                             .out_channels = s->out_channels, .groups = s->groups, .transpose = s->transpose,
                             .constant_weights = 1, .activation = UNARY_COPY};
    for (int d = 0; d < s->rank; d++) {
        desc.in_size[d] = s->in_size[d];
        desc.kernel[d] = s->kernel[d];
        desc.stride[d] = s->stride[d];
        desc.dilation[d] = s->dilation[d];
        desc.pad_begin[d] = s->pad_begin[d];
        desc.pad_end[d] = s->pad_end[d];
        int64_t extent = s->dilation[d] * (s->kernel[d] - 1) + 1;
        desc.out_size[d] = s->transpose
                               ? (s->in_size[d] - 1) * s->stride[d] + extent - s->pad_begin[d] - s->pad_end[d]
                               : (s->in_size[d] + s->pad_begin[d] + s->pad_end[d] - extent) / s->stride[d] + 1;
    }
    return desc;
}

/* The plain convolution with symmetric pads that cuDNN is given. */
static convolution_desc cudnn_view(const convolution_desc *desc, const cudnn_geometry *g) {
    convolution_desc plain = *desc;
    plain.transpose = 0;
    plain.in_channels = g->image_channels;
    plain.out_channels = g->result_channels;
    for (int d = 0; d < desc->spatial_rank; d++) {
        plain.in_size[d] = g->padded_size[d];
        plain.out_size[d] = g->result_size[d];
        plain.pad_begin[d] = plain.pad_end[d] = g->pad[d];
    }
    return plain;
}

static float *random_floats(int64_t count, uint64_t *state) {
    float *values = malloc(sizeof(float) * (size_t)(count ? count : 1));
    random_fill(values, count, state);
    return values;
}

static void expect_close(const char *label, illume_status status, const float *got, const float *want,
                         int64_t count) {
    cases++;
    double difference = status == ILLUME_OK ? relative_difference(got, want, count) : INFINITY;
    if (!(difference <= 1e-5)) {
        failures++;
        printf("FAIL %s: %s (%.3g of the largest magnitude)\n", label,
               status == ILLUME_OK ? "the cuDNN route differs from the direct convolution" : "a call failed",
               difference);
    }
}

/* One direction of one shape: the route the CUDA backend takes, on the CPU. */
static void check(backend *cpu, const shape *s, int backward) {
    convolution_desc desc = describe(s);
    cudnn_geometry g;
    cudnn_geometry_of(&desc, &g);
    convolution_desc plain = cudnn_view(&desc, &g);
    int forward_api = backward == desc.transpose;
    copy_desc between;
    int covers = cudnn_padding_copy(&desc, &g, forward_api, &between);
    int rank = desc.spatial_rank;
    int64_t x_count = desc.batch * desc.in_channels * spatial_count(rank, desc.in_size);
    int64_t y_count = desc.batch * desc.out_channels * spatial_count(rank, desc.out_size);
    int64_t padded_count = cudnn_geometry_elements(desc.batch, g.image_channels, rank, g.padded_size);
    int64_t weight_count = (desc.transpose ? desc.in_channels * (desc.out_channels / desc.groups)
                                           : desc.out_channels * (desc.in_channels / desc.groups)) *
                           spatial_count(rank, desc.kernel);
    uint64_t state = 0x2545F4914F6CDD1Dull + (uint64_t)backward;
    float *weights = random_floats(weight_count, &state);
    /* The call's input and output: x to y forward, dy (y's shape) to dx (x's) backward. */
    int64_t input_count = backward ? y_count : x_count, output_count = backward ? x_count : y_count;
    float *input = random_floats(input_count, &state);
    float *want = calloc((size_t)output_count, sizeof(float)), *got = calloc((size_t)output_count, sizeof(float));
    float *padded = calloc((size_t)padded_count, sizeof(float));
    void *direct_state = NULL, *plain_state = NULL;
    illume_status status = backward ? cpu->convolution_backward(cpu, &desc, &direct_state, input, weights, want)
                                    : cpu->convolution(cpu, &desc, &direct_state, input, weights, NULL, want);
    if (status == ILLUME_OK && forward_api) {
        /* Ours into the zeroed padded image, then cuDNN's forward. */
        if (g.uneven) status = cpu->copy(cpu, &between, input, padded);
        if (status == ILLUME_OK)
            status = cpu->convolution(cpu, &plain, &plain_state, g.uneven ? padded : input, weights, NULL, got);
    } else if (status == ILLUME_OK) {
        /* cuDNN's backward-data into the padded image, then cropped into ours. */
        status = cpu->convolution_backward(cpu, &plain, &plain_state, input, weights, g.uneven ? padded : got);
        if (status == ILLUME_OK && g.uneven && !covers) status = cpu->fill(cpu, 0.0f, output_count, got);
        if (status == ILLUME_OK && g.uneven) status = cpu->copy(cpu, &between, padded, got);
    }
    char label[160];
    snprintf(label, sizeof label, "%s, %s", s->name, backward ? "backward-data" : "forward");
    if (g.uneven != s->copies) {
        failures++;
        printf("FAIL %s: the route %s the padding copy\n", label, g.uneven ? "takes" : "does not take");
    }
    expect_close(label, status, got, want, output_count);
    cpu->release_state(cpu, direct_state);
    cpu->release_state(cpu, plain_state);
    free(weights);
    free(input);
    free(want);
    free(got);
    free(padded);
}

int main(void) {
    illume_context *context = illume_context_create();
    backend *cpu = cpu_backend_create(context, (backend_options){0});
    if (!cpu) {
        printf("FAIL the CPU backend: %s\n", illume_last_error(context));
        return 1;
    }
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int backward = 0; backward < 2; backward++) check(cpu, &shapes[k], backward);
    cpu->destroy(cpu);
    illume_context_destroy(context);
    printf("cuda/convolution_geometry: %d cases, %d failures\n", cases, failures);
    return failures ? 1 : 0;
}
