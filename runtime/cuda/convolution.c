/* Convolution and transposed convolution, forward and backward-data, on
 * cuDNN's convolution API. cuDNN sees one plain convolution per node, from
 * an "image" x to a "result" y: for a Conv the image is our input, for a
 * ConvTranspose it is our output (a transposed convolution is the
 * backward-data of the plain one, its weights (in, out / groups, kernel...)
 * being that one's filter (K, C / groups, kernel...)). So a Conv's forward
 * and a ConvTranspose's backward run cudnnConvolutionForward, the other two
 * cudnnConvolutionBackwardData.
 *
 * cuDNN pads both sides of an axis alike. Where our pads differ (TF "SAME"
 * exports; a ConvTranspose's output_padding, which is a negative end pad)
 * and the begin pad on both sides will not do (convolution_geometry.c),
 * cuDNN pads by the smaller one and sees a copy of the image with the rest
 * added as zeros (or cropped) in a scratch buffer the node's state owns:
 * the image is copied in before cudnnConvolutionForward, or copied out of
 * it after cudnnConvolutionBackwardData.
 *
 * Descriptors are made once per node and kept in its state; the algorithm is
 * chosen once, by cuDNN's heuristic ranking or (autotune) by timing them
 * (cudnnFind*Ex), among the deterministic ones in FMA math unless the
 * backend is fast (then any, with TF32); the shared workspace grows to the
 * largest need. The forward adds the bias with cudnnAddTensor and runs a
 * fused activation on the unary kernel; a fused residual Add is cuDNN's
 * beta = 1. Not done: channels-last activations (the backend does not ask
 * for them). */
#include <stdlib.h>

#include "context.h"
#include "convolution_geometry.h"
#include "cuda_private.h"
#include "elementwise.h"

#define CUDA_MAX_DIMS (ILLUME_MAX_SPATIAL + 2)

typedef struct convolution_state {
    cuda_state header;
    /* cuDNN's image (padded when the pads are uneven) and result, our
     * output where the bias goes, the bias. */
    cudnnTensorDescriptor_t x, y, output, bias;
    cudnnFilterDescriptor_t weights;
    cudnnConvolutionDescriptor_t convolution;
    int backward;    /* the state of a backward-data call */
    int forward_api; /* cudnnConvolutionForward, else cudnnConvolutionBackwardData */
    cudnnConvolutionFwdAlgo_t forward_algorithm;
    cudnnConvolutionBwdDataAlgo_t backward_algorithm;
    size_t workspace_bytes;
    size_t tuning_workspace_bytes; /* the largest the candidates need */
    int tuned;
    /* Uneven pads: the image as cuDNN sees it, and the copy between it and
     * ours (ours into it before the forward API, out of it after backward-data). */
    float *padded;
    copy_desc between;
    int covers;             /* the copy out writes every element of ours */
    int64_t image_elements; /* ours, unpadded */
    int64_t output_elements; /* what the cuDNN call writes */
} convolution_state;

static void destroy_state(cuda_state *header) {
    convolution_state *state = (convolution_state *)header;
    if (state->x) cudnnDestroyTensorDescriptor(state->x);
    if (state->y) cudnnDestroyTensorDescriptor(state->y);
    if (state->output) cudnnDestroyTensorDescriptor(state->output);
    if (state->bias) cudnnDestroyTensorDescriptor(state->bias);
    if (state->weights) cudnnDestroyFilterDescriptor(state->weights);
    if (state->convolution) cudnnDestroyConvolutionDescriptor(state->convolution);
    cuda_memory_free(state->padded);
    free(state);
}

/* cuDNN takes int dimensions, and the copy kernels index within 2^31. */
static int fits_int(const convolution_desc *desc, const cudnn_geometry *g) {
    int rank = desc->spatial_rank;
    const int64_t limit = (int64_t)1 << 30;
    if (desc->batch >= limit || desc->in_channels >= limit || desc->out_channels >= limit) return 0;
    for (int d = 0; d < rank; d++)
        if (g->image_size[d] >= limit || g->result_size[d] >= limit || g->padded_size[d] >= limit) return 0;
    /* Each factor is below 2^30, so every partial product below 2^31 stays exact. */
    const int64_t *sizes[] = {g->image_size, g->result_size, g->padded_size};
    int64_t channels[] = {g->image_channels, g->result_channels, g->image_channels};
    for (int k = 0; k < 3; k++) {
        int64_t count = desc->batch * channels[k];
        for (int d = 0; d < rank && count < ((int64_t)1 << 31); d++) count *= sizes[k][d];
        if (count >= ((int64_t)1 << 31)) return 0;
    }
    return 1;
}

/* A dense NCHW tensor descriptor of n, c and the spatial sizes (1-D as 2-D
 * of height 1: cuDNN wants 4 dimensions or more). */
static cudnnStatus_t set_tensor(cudnnTensorDescriptor_t tensor, int64_t n, int64_t c, int spatial_rank,
                                const int64_t *size) {
    int dims[CUDA_MAX_DIMS], strides[CUDA_MAX_DIMS], count = spatial_rank < 2 ? 4 : spatial_rank + 2;
    dims[0] = (int)n;
    dims[1] = (int)c;
    for (int d = 2; d < count; d++) dims[d] = 1;
    for (int d = 0; d < spatial_rank; d++) dims[count - spatial_rank + d] = (int)size[d];
    strides[count - 1] = 1;
    for (int d = count - 2; d >= 0; d--) strides[d] = strides[d + 1] * dims[d + 1];
    return cudnnSetTensorNdDescriptor(tensor, CUDNN_DATA_FLOAT, count, dims, strides);
}

static cudnnMathType_t math_of(const cuda_backend *cuda) {
    /* Default math lets Ampere and later use TF32 on float data;
     * CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION would go down to FP16, whose
     * range activations can leave. */
    return cuda->fast ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

static illume_status describe(cuda_backend *cuda, const convolution_desc *desc, const cudnn_geometry *g,
                              convolution_state *state) {
    cudnnStatus_t status = CUDNN_STATUS_SUCCESS;
    int rank = desc->spatial_rank, count = rank < 2 ? 2 : rank;
    int pads[ILLUME_MAX_SPATIAL], strides[ILLUME_MAX_SPATIAL], dilations[ILLUME_MAX_SPATIAL];
    int filter[CUDA_MAX_DIMS];
    for (int d = 0; d < count; d++) pads[d] = 0, strides[d] = 1, dilations[d] = 1;
    for (int d = 0; d < rank; d++) {
        pads[count - rank + d] = (int)g->pad[d];
        strides[count - rank + d] = (int)desc->stride[d];
        dilations[count - rank + d] = (int)desc->dilation[d];
    }
    filter[0] = (int)g->result_channels;
    filter[1] = (int)(g->image_channels / desc->groups);
    for (int d = 0; d < count; d++) filter[2 + d] = 1;
    for (int d = 0; d < rank; d++) filter[2 + count - rank + d] = (int)desc->kernel[d];
    int64_t ones[ILLUME_MAX_SPATIAL] = {1, 1, 1};
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnCreateTensorDescriptor(&state->x);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnCreateTensorDescriptor(&state->y);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnCreateTensorDescriptor(&state->output);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnCreateTensorDescriptor(&state->bias);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnCreateFilterDescriptor(&state->weights);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnCreateConvolutionDescriptor(&state->convolution);
    if (status == CUDNN_STATUS_SUCCESS)
        status = set_tensor(state->x, desc->batch, g->image_channels, rank, g->padded_size);
    if (status == CUDNN_STATUS_SUCCESS)
        status = set_tensor(state->y, desc->batch, g->result_channels, rank, g->result_size);
    if (status == CUDNN_STATUS_SUCCESS)
        status = set_tensor(state->output, desc->batch, desc->out_channels, rank, desc->out_size);
    if (status == CUDNN_STATUS_SUCCESS) status = set_tensor(state->bias, 1, desc->out_channels, rank, ones);
    if (status == CUDNN_STATUS_SUCCESS)
        status = cudnnSetFilterNdDescriptor(state->weights, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, count + 2, filter);
    if (status == CUDNN_STATUS_SUCCESS)
        status = cudnnSetConvolutionNdDescriptor(state->convolution, count, pads, strides, dilations,
                                                 CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnSetConvolutionGroupCount(state->convolution, (int)desc->groups);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnSetConvolutionMathType(state->convolution, math_of(cuda));
    return cudnn_check(&cuda->base, status, "describing a convolution to cuDNN");
}

/* The scratch image and the copy between it and ours, for uneven pads. In
 * the forward API's direction its margins are zeroed once here and never
 * written again. */
static illume_status prepare_padding(cuda_backend *cuda, const convolution_desc *desc, const cudnn_geometry *g,
                                     convolution_state *state) {
    backend *self = &cuda->base;
    int rank = desc->spatial_rank;
    int64_t padded_elements = cudnn_geometry_elements(desc->batch, g->image_channels, rank, g->padded_size);
    if (padded_elements > INT64_MAX / (int64_t)sizeof(float))
        return illume_fail(self->context, ILLUME_ERROR_OUT_OF_MEMORY, "a convolution's padded image is too large");
    ILLUME_TRY(cuda_memory_allocate(self, sizeof(float) * (size_t)padded_elements, (void **)&state->padded,
                                    "allocating a convolution's padded image"));
    state->covers = cudnn_padding_copy(desc, g, state->forward_api, &state->between);
    state->image_elements = cudnn_geometry_elements(desc->batch, g->image_channels, rank, g->image_size);
    if (!state->forward_api) return ILLUME_OK;
    return self->fill(self, 0.0f, padded_elements, state->padded);
}

/* One entry of a ranking of cuDNN's algorithms (its heuristic's or its
 * timings), in either direction: the two directions' Perf structs hold the
 * same fields. */
typedef struct candidate {
    int algorithm;
    cudnnStatus_t status;
    size_t memory;
    cudnnDeterminism_t determinism;
    cudnnMathType_t math;
} candidate;

#define CANDIDATES                                                                     \
    ((int)CUDNN_CONVOLUTION_FWD_ALGO_COUNT > (int)CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT \
         ? (int)CUDNN_CONVOLUTION_FWD_ALGO_COUNT                                        \
         : (int)CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT)
#define CANDIDATE_OF(perf) \
    ((candidate){(int)(perf).algo, (perf).status, (perf).memory, (perf).determinism, (perf).mathType})

/* Whether a candidate ran and may be used: deterministic unless fast. */
static int usable(const cuda_backend *cuda, const candidate *c) {
    return c->status == CUDNN_STATUS_SUCCESS && (cuda->fast || c->determinism == CUDNN_DETERMINISTIC);
}

/* Takes the first usable candidate of a ranking, in its math type, with
 * its workspace. Returns 0 when none is usable. */
static int adopt(cuda_backend *cuda, convolution_state *state, const candidate *ranked, int returned,
                 illume_status *result) {
    for (int k = 0; k < returned; k++) {
        if (!usable(cuda, &ranked[k])) continue;
        cudnnStatus_t status = CUDNN_STATUS_SUCCESS;
        if (cuda->fast) status = cudnnSetConvolutionMathType(state->convolution, ranked[k].math);
        if (state->forward_api) {
            state->forward_algorithm = (cudnnConvolutionFwdAlgo_t)ranked[k].algorithm;
            if (status == CUDNN_STATUS_SUCCESS)
                status = cudnnGetConvolutionForwardWorkspaceSize(cuda->cudnn, state->x, state->weights,
                                                                 state->convolution, state->y,
                                                                 state->forward_algorithm, &state->workspace_bytes);
        } else {
            state->backward_algorithm = (cudnnConvolutionBwdDataAlgo_t)ranked[k].algorithm;
            if (status == CUDNN_STATUS_SUCCESS)
                status = cudnnGetConvolutionBackwardDataWorkspaceSize(cuda->cudnn, state->weights, state->y,
                                                                      state->convolution, state->x,
                                                                      state->backward_algorithm,
                                                                      &state->workspace_bytes);
        }
        const char *what = state->forward_api ? "adopting a forward algorithm" : "adopting a backward-data algorithm";
        *result = cudnn_check(&cuda->base, status, what);
        return 1;
    }
    return 0;
}

/* cuDNN's heuristic ranking of the state's direction. */
static illume_status heuristic_ranking(cuda_backend *cuda, convolution_state *state, candidate *ranked,
                                       int *returned) {
    backend *self = &cuda->base;
    *returned = 0;
    if (state->forward_api) {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        ILLUME_TRY(cudnn_check(self,
                               cudnnGetConvolutionForwardAlgorithm_v7(cuda->cudnn, state->x, state->weights,
                                                                      state->convolution, state->y,
                                                                      CUDNN_CONVOLUTION_FWD_ALGO_COUNT, returned,
                                                                      perf),
                               "cudnnGetConvolutionForwardAlgorithm_v7"));
        for (int k = 0; k < *returned; k++) ranked[k] = CANDIDATE_OF(perf[k]);
        return ILLUME_OK;
    }
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    ILLUME_TRY(cudnn_check(self,
                           cudnnGetConvolutionBackwardDataAlgorithm_v7(cuda->cudnn, state->weights, state->y,
                                                                       state->convolution, state->x,
                                                                       CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                                       returned, perf),
                           "cudnnGetConvolutionBackwardDataAlgorithm_v7"));
    for (int k = 0; k < *returned; k++) ranked[k] = CANDIDATE_OF(perf[k]);
    return ILLUME_OK;
}

/* The first usable algorithm of cuDNN's heuristic ranking; notes the
 * largest workspace a usable one needs, for autotune. */
static illume_status choose(cuda_backend *cuda, convolution_state *state) {
    candidate ranked[CANDIDATES];
    int returned = 0;
    ILLUME_TRY(heuristic_ranking(cuda, state, ranked, &returned));
    for (int k = 0; k < returned; k++)
        if (usable(cuda, &ranked[k]) && ranked[k].memory > state->tuning_workspace_bytes)
            state->tuning_workspace_bytes = ranked[k].memory;
    illume_status result = ILLUME_OK;
    if (adopt(cuda, state, ranked, returned, &result)) return result;
    return illume_fail(cuda->base.context, ILLUME_ERROR_BACKEND,
                       "cuDNN offers no %s%s algorithm for a convolution of this shape",
                       cuda->fast ? "" : "deterministic ", state->forward_api ? "forward" : "backward-data");
}

/* Autotune: cuDNN times every algorithm on this node's buffers and the
 * fastest usable one replaces the heuristic's choice (which stays when none
 * ran). The timing writes its output, so an output holding a residual to
 * accumulate onto is swapped for a temporary one; its workspace is
 * temporary too, so that the shared one grows only to what the chosen
 * algorithm needs. */
static illume_status tune(cuda_backend *cuda, convolution_state *state, const float *input, const float *weights,
                          float *output, int accumulate) {
    backend *self = &cuda->base;
    size_t free_bytes = 0, total_bytes = 0, workspace_bytes = state->tuning_workspace_bytes;
    ILLUME_TRY(cuda_check(self, cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo"));
    if (workspace_bytes > free_bytes / 2) workspace_bytes = free_bytes / 2;
    void *workspace = NULL;
    float *target = output;
    illume_status result = ILLUME_OK;
    if (workspace_bytes)
        result = cuda_memory_allocate(self, workspace_bytes, &workspace, "allocating autotune's workspace");
    if (result == ILLUME_OK && accumulate)
        result = cuda_memory_allocate(self, sizeof(float) * (size_t)state->output_elements, (void **)&target,
                                      "allocating autotune's output");
    /* Find times the descriptor's math type: open it again to every one allowed. */
    if (result == ILLUME_OK)
        result = cudnn_check(self, cudnnSetConvolutionMathType(state->convolution, math_of(cuda)),
                             "cudnnSetConvolutionMathType");
    candidate ranked[CANDIDATES];
    int returned = 0, adopted = 0;
    if (result == ILLUME_OK && state->forward_api) {
        cudnnConvolutionFwdAlgoPerf_t timed[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        result = cudnn_check(self,
                             cudnnFindConvolutionForwardAlgorithmEx(cuda->cudnn, state->x, input, state->weights,
                                                                    weights, state->convolution, state->y, target,
                                                                    CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned,
                                                                    timed, workspace, workspace_bytes),
                             "cudnnFindConvolutionForwardAlgorithmEx");
        for (int k = 0; result == ILLUME_OK && k < returned; k++) ranked[k] = CANDIDATE_OF(timed[k]);
    } else if (result == ILLUME_OK) {
        cudnnConvolutionBwdDataAlgoPerf_t timed[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        result = cudnn_check(self,
                             cudnnFindConvolutionBackwardDataAlgorithmEx(
                                 cuda->cudnn, state->weights, weights, state->y, input, state->convolution, state->x,
                                 target, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, timed, workspace,
                                 workspace_bytes),
                             "cudnnFindConvolutionBackwardDataAlgorithmEx");
        for (int k = 0; result == ILLUME_OK && k < returned; k++) ranked[k] = CANDIDATE_OF(timed[k]);
    }
    if (result == ILLUME_OK) adopted = adopt(cuda, state, ranked, returned, &result);
    /* Nothing usable was timed: back to the heuristic's choice and its math type. */
    if (result == ILLUME_OK && !adopted) result = choose(cuda, state);
    /* Find blocks until its timings end; the stream may hold nothing that reads the temporaries. */
    illume_status synchronized = cuda_check(self, cudaStreamSynchronize(cuda->stream), "cudaStreamSynchronize");
    if (result == ILLUME_OK) result = synchronized;
    cuda_memory_free(workspace);
    if (target != output) cuda_memory_free(target);
    state->tuned = 1;
    return result;
}

/* The node's state for this direction, made on its first call. */
static illume_status state_of(cuda_backend *cuda, const convolution_desc *desc, void **slot, int backward,
                              convolution_state **result) {
    backend *self = &cuda->base;
    if (desc->x_channels_last || desc->y_channels_last) return cuda_missing(self, "channels-last convolutions");
    ILLUME_TRY(cuda_cudnn(cuda));
    cudnn_geometry g;
    cudnn_geometry_of(desc, &g);
    if (!fits_int(desc, &g)) return cuda_missing(self, "convolutions this large");
    convolution_state *state = *slot;
    if (state && state->backward == backward) {
        *result = state;
        return ILLUME_OK;
    }
    if (state) return illume_fail(self->context, ILLUME_ERROR_INTERNAL, "a convolution state used both ways");
    state = calloc(1, sizeof *state);
    if (!state) return illume_fail(self->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    state->header.destroy = destroy_state;
    state->backward = backward;
    state->forward_api = backward == desc->transpose;
    state->output_elements =
        state->forward_api ? cudnn_geometry_elements(desc->batch, g.result_channels, desc->spatial_rank, g.result_size)
                           : cudnn_geometry_elements(desc->batch, g.image_channels, desc->spatial_rank, g.padded_size);
    illume_status status = describe(cuda, desc, &g, state);
    if (status == ILLUME_OK && g.uneven) status = prepare_padding(cuda, desc, &g, state);
    if (status == ILLUME_OK) status = choose(cuda, state);
    if (status != ILLUME_OK) {
        destroy_state(&state->header);
        return status;
    }
    *slot = state;
    *result = state;
    return ILLUME_OK;
}

/* The node's cuDNN call from input to output (ours, unpadded), through the
 * padded image where the pads are uneven; accumulate adds to what output
 * holds. */
static illume_status convolve(cuda_backend *cuda, convolution_state *state, const float *input, const float *weights,
                              float *output, int accumulate) {
    backend *self = &cuda->base;
    const float *source = input;
    float *target = output;
    if (state->padded && state->forward_api) {
        ILLUME_TRY(self->copy(self, &state->between, input, state->padded));
        source = state->padded;
    } else if (state->padded) {
        target = state->padded;
    }
    int blend = accumulate && target == output;
    if (cuda->autotune && !state->tuned) ILLUME_TRY(tune(cuda, state, source, weights, target, blend));
    void *workspace;
    ILLUME_TRY(cuda_workspace(cuda, state->workspace_bytes, &workspace));
    const float one = 1.0f, zero = 0.0f;
    if (state->forward_api)
        ILLUME_TRY(cudnn_check(self,
                               cudnnConvolutionForward(cuda->cudnn, &one, state->x, source, state->weights, weights,
                                                       state->convolution, state->forward_algorithm, workspace,
                                                       state->workspace_bytes, blend ? &one : &zero, state->y,
                                                       target),
                               "cudnnConvolutionForward"));
    else
        ILLUME_TRY(cudnn_check(self,
                               cudnnConvolutionBackwardData(cuda->cudnn, &one, state->weights, weights, state->y,
                                                            source, state->convolution, state->backward_algorithm,
                                                            workspace, state->workspace_bytes, blend ? &one : &zero,
                                                            state->x, target),
                               "cudnnConvolutionBackwardData"));
    if (target == output) return ILLUME_OK;
    /* What the crop leaves out of ours received nothing. */
    if (!accumulate && !state->covers) ILLUME_TRY(self->fill(self, 0.0f, state->image_elements, output));
    copy_desc out = state->between;
    out.accumulate = accumulate;
    return self->copy(self, &out, state->padded, output);
}

illume_status cuda_convolution(backend *self, const convolution_desc *desc, void **slot, const float *x,
                               const float *weights, const float *bias, float *y) {
    CUDA_USE_DEVICE(self);
    cuda_backend *cuda = (cuda_backend *)self;
    convolution_state *state;
    ILLUME_TRY(state_of(cuda, desc, slot, 0, &state));
    ILLUME_TRY(convolve(cuda, state, x, weights, y, desc->accumulate));
    const float one = 1.0f;
    if (bias)
        ILLUME_TRY(cudnn_check(self, cudnnAddTensor(cuda->cudnn, &one, state->bias, bias, &one, state->output, y),
                               "cudnnAddTensor"));
    if (desc->activation == UNARY_COPY) return ILLUME_OK;
    unary_desc activation = {desc->activation, desc->activation_alpha, desc->activation_beta,
                             cudnn_geometry_elements(desc->batch, desc->out_channels, desc->spatial_rank,
                                                     desc->out_size)};
    return self->unary(self, &activation, y, y);
}

illume_status cuda_convolution_backward(backend *self, const convolution_desc *desc, void **slot, const float *dy,
                                        const float *weights, float *dx) {
    CUDA_USE_DEVICE(self);
    cuda_backend *cuda = (cuda_backend *)self;
    convolution_state *state;
    ILLUME_TRY(state_of(cuda, desc, slot, 1, &state));
    return convolve(cuda, state, dy, weights, dx, 0);
}
