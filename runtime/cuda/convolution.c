/* Convolution forward and backward-data on cuDNN (its convolution API):
 * descriptors made once per node and kept in its state, the algorithm
 * chosen once by cuDNN's heuristics among the deterministic ones, in FMA
 * math (no TF32), the shared workspace grown to the largest need. The
 * forward adds the bias with cudnnAddTensor and runs a fused activation on
 * the unary kernel; a fused residual Add is cuDNN's beta = 1. Not yet:
 * transposed convolutions, asymmetric padding (cuDNN pads both sides
 * alike), channels-last activations (the backend does not ask for them). */
#include <stdlib.h>

#include "context.h"
#include "cuda_private.h"
#include "elementwise.h"

#define CUDA_MAX_DIMS (ILLUME_MAX_SPATIAL + 2)

typedef struct convolution_state {
    cuda_state header;
    cudnnTensorDescriptor_t x, y, bias;
    cudnnFilterDescriptor_t weights;
    cudnnConvolutionDescriptor_t convolution;
    int backward; /* the state of a backward-data call */
    cudnnConvolutionFwdAlgo_t forward_algorithm;
    cudnnConvolutionBwdDataAlgo_t backward_algorithm;
    size_t workspace_bytes;
} convolution_state;

static void destroy_state(cuda_state *header) {
    convolution_state *state = (convolution_state *)header;
    if (state->x) cudnnDestroyTensorDescriptor(state->x);
    if (state->y) cudnnDestroyTensorDescriptor(state->y);
    if (state->bias) cudnnDestroyTensorDescriptor(state->bias);
    if (state->weights) cudnnDestroyFilterDescriptor(state->weights);
    if (state->convolution) cudnnDestroyConvolutionDescriptor(state->convolution);
    free(state);
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

static int fits_int(const convolution_desc *desc) {
    int64_t largest = desc->batch > desc->in_channels ? desc->batch : desc->in_channels;
    if (desc->out_channels > largest) largest = desc->out_channels;
    for (int d = 0; d < desc->spatial_rank; d++) {
        if (desc->in_size[d] > largest) largest = desc->in_size[d];
        if (desc->out_size[d] > largest) largest = desc->out_size[d];
    }
    int64_t elements = desc->batch * (desc->in_channels > desc->out_channels ? desc->in_channels : desc->out_channels);
    for (int d = 0; d < desc->spatial_rank; d++)
        elements *= desc->in_size[d] > desc->out_size[d] ? desc->in_size[d] : desc->out_size[d];
    return largest < (1 << 30) && elements < ((int64_t)1 << 31);
}

static illume_status describe(backend *self, const convolution_desc *desc, convolution_state *state) {
    cudnnStatus_t status = CUDNN_STATUS_SUCCESS;
    int rank = desc->spatial_rank, count = rank < 2 ? 2 : rank;
    int pads[ILLUME_MAX_SPATIAL], strides[ILLUME_MAX_SPATIAL], dilations[ILLUME_MAX_SPATIAL];
    int filter[CUDA_MAX_DIMS];
    for (int d = 0; d < count; d++) pads[d] = 0, strides[d] = 1, dilations[d] = 1;
    for (int d = 0; d < rank; d++) {
        pads[count - rank + d] = (int)desc->pad_begin[d];
        strides[count - rank + d] = (int)desc->stride[d];
        dilations[count - rank + d] = (int)desc->dilation[d];
    }
    filter[0] = (int)desc->out_channels;
    filter[1] = (int)(desc->in_channels / desc->groups);
    for (int d = 0; d < count; d++) filter[2 + d] = 1;
    for (int d = 0; d < rank; d++) filter[2 + count - rank + d] = (int)desc->kernel[d];
    int64_t ones[ILLUME_MAX_SPATIAL] = {1, 1, 1};
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnCreateTensorDescriptor(&state->x);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnCreateTensorDescriptor(&state->y);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnCreateTensorDescriptor(&state->bias);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnCreateFilterDescriptor(&state->weights);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnCreateConvolutionDescriptor(&state->convolution);
    if (status == CUDNN_STATUS_SUCCESS)
        status = set_tensor(state->x, desc->batch, desc->in_channels, rank, desc->in_size);
    if (status == CUDNN_STATUS_SUCCESS)
        status = set_tensor(state->y, desc->batch, desc->out_channels, rank, desc->out_size);
    if (status == CUDNN_STATUS_SUCCESS) status = set_tensor(state->bias, 1, desc->out_channels, rank, ones);
    if (status == CUDNN_STATUS_SUCCESS)
        status = cudnnSetFilterNdDescriptor(state->weights, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, count + 2, filter);
    if (status == CUDNN_STATUS_SUCCESS)
        status = cudnnSetConvolutionNdDescriptor(state->convolution, count, pads, strides, dilations,
                                                 CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnSetConvolutionGroupCount(state->convolution, (int)desc->groups);
    if (status == CUDNN_STATUS_SUCCESS) status = cudnnSetConvolutionMathType(state->convolution, CUDNN_FMA_MATH);
    return cudnn_check(self, status, "describing a convolution to cuDNN");
}

/* The first deterministic algorithm of cuDNN's heuristic ranking. */
static illume_status choose_forward(cuda_backend *cuda, convolution_state *state) {
    backend *self = &cuda->base;
    cudnnConvolutionFwdAlgoPerf_t ranked[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    ILLUME_TRY(cudnn_check(self,
                           cudnnGetConvolutionForwardAlgorithm_v7(cuda->cudnn, state->x, state->weights,
                                                                  state->convolution, state->y,
                                                                  CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, ranked),
                           "cudnnGetConvolutionForwardAlgorithm_v7"));
    for (int k = 0; k < returned; k++) {
        if (ranked[k].status != CUDNN_STATUS_SUCCESS || ranked[k].determinism != CUDNN_DETERMINISTIC) continue;
        state->forward_algorithm = ranked[k].algo;
        return cudnn_check(self,
                           cudnnGetConvolutionForwardWorkspaceSize(cuda->cudnn, state->x, state->weights,
                                                                   state->convolution, state->y, ranked[k].algo,
                                                                   &state->workspace_bytes),
                           "cudnnGetConvolutionForwardWorkspaceSize");
    }
    return illume_fail(self->context, ILLUME_ERROR_BACKEND, "cuDNN offers no deterministic forward algorithm for a "
                       "convolution of this shape");
}

static illume_status choose_backward(cuda_backend *cuda, convolution_state *state) {
    backend *self = &cuda->base;
    cudnnConvolutionBwdDataAlgoPerf_t ranked[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int returned = 0;
    ILLUME_TRY(cudnn_check(self,
                           cudnnGetConvolutionBackwardDataAlgorithm_v7(cuda->cudnn, state->weights, state->y,
                                                                       state->convolution, state->x,
                                                                       CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                                       &returned, ranked),
                           "cudnnGetConvolutionBackwardDataAlgorithm_v7"));
    for (int k = 0; k < returned; k++) {
        if (ranked[k].status != CUDNN_STATUS_SUCCESS || ranked[k].determinism != CUDNN_DETERMINISTIC) continue;
        state->backward_algorithm = ranked[k].algo;
        return cudnn_check(self,
                           cudnnGetConvolutionBackwardDataWorkspaceSize(cuda->cudnn, state->weights, state->y,
                                                                        state->convolution, state->x,
                                                                        ranked[k].algo, &state->workspace_bytes),
                           "cudnnGetConvolutionBackwardDataWorkspaceSize");
    }
    return illume_fail(self->context, ILLUME_ERROR_BACKEND, "cuDNN offers no deterministic backward-data algorithm "
                       "for a convolution of this shape");
}

/* The node's state for this direction, made on its first call. */
static illume_status state_of(cuda_backend *cuda, const convolution_desc *desc, void **slot, int backward,
                              convolution_state **result) {
    backend *self = &cuda->base;
    if (desc->transpose) return cuda_missing(self, "transposed convolutions");
    if (desc->x_channels_last || desc->y_channels_last) return cuda_missing(self, "channels-last convolutions");
    for (int d = 0; d < desc->spatial_rank; d++)
        if (desc->pad_begin[d] != desc->pad_end[d]) return cuda_missing(self, "convolutions padded unevenly");
    if (!fits_int(desc)) return cuda_missing(self, "convolutions this large");
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
    illume_status status = describe(self, desc, state);
    if (status == ILLUME_OK) status = backward ? choose_backward(cuda, state) : choose_forward(cuda, state);
    if (status != ILLUME_OK) {
        destroy_state(&state->header);
        return status;
    }
    *slot = state;
    *result = state;
    return ILLUME_OK;
}

illume_status cuda_convolution(backend *self, const convolution_desc *desc, void **slot, const float *x,
                               const float *weights, const float *bias, float *y) {
    cuda_backend *cuda = (cuda_backend *)self;
    convolution_state *state;
    ILLUME_TRY(state_of(cuda, desc, slot, 0, &state));
    void *workspace;
    ILLUME_TRY(cuda_workspace(cuda, state->workspace_bytes, &workspace));
    const float one = 1.0f, zero = 0.0f;
    ILLUME_TRY(cudnn_check(self,
                           cudnnConvolutionForward(cuda->cudnn, &one, state->x, x, state->weights, weights,
                                                   state->convolution, state->forward_algorithm, workspace,
                                                   state->workspace_bytes, desc->accumulate ? &one : &zero, state->y,
                                                   y),
                           "cudnnConvolutionForward"));
    if (bias)
        ILLUME_TRY(cudnn_check(self, cudnnAddTensor(cuda->cudnn, &one, state->bias, bias, &one, state->y, y),
                               "cudnnAddTensor"));
    if (desc->activation == UNARY_COPY) return ILLUME_OK;
    int64_t count = desc->batch * desc->out_channels;
    for (int d = 0; d < desc->spatial_rank; d++) count *= desc->out_size[d];
    unary_desc activation = {desc->activation, desc->activation_alpha, desc->activation_beta, count};
    return self->unary(self, &activation, y, y);
}

illume_status cuda_convolution_backward(backend *self, const convolution_desc *desc, void **slot, const float *dy,
                                        const float *weights, float *dx) {
    cuda_backend *cuda = (cuda_backend *)self;
    convolution_state *state;
    ILLUME_TRY(state_of(cuda, desc, slot, 1, &state));
    void *workspace;
    ILLUME_TRY(cuda_workspace(cuda, state->workspace_bytes, &workspace));
    const float one = 1.0f, zero = 0.0f;
    return cudnn_check(self,
                       cudnnConvolutionBackwardData(cuda->cudnn, &one, state->weights, weights, state->y, dy,
                                                    state->convolution, state->backward_algorithm, workspace,
                                                    state->workspace_bytes, &zero, state->x, dx),
                       "cudnnConvolutionBackwardData");
}
