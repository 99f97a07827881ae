/* illume: an ONNX-importing inference-and-attribution engine.
 *
 * The public C API. A context carries the last error message and the thread
 * count; a model is an imported ONNX graph; a session is a model bound to
 * concrete input shapes on one backend, planned and ready to run.
 *
 * Every function that can fail returns an illume_status and leaves a message
 * that names what went wrong in illume_last_error(). docs/api.md is the guide
 * to this API, with a complete example program. */
#ifndef ILLUME_H
#define ILLUME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ILLUME_VERSION_MAJOR 0
#define ILLUME_VERSION_MINOR 1
#define ILLUME_VERSION_PATCH 0
#define ILLUME_VERSION_STRING "0.1.0"

/* The version of the API this header declares: it grows by one with each
 * release that adds to the API (a function, a field, an enum value). A
 * program learns what the library it runs with declares from
 * illume_api_version(): ILLUME_API_VERSION or more means all of this header. */
#define ILLUME_API_VERSION 1

/* What libillume exports: the declarations marked ILLUME_API, and nothing
 * else (the library is built with every other symbol hidden), so that no
 * program comes to depend on the library's internals. */
#if defined(__GNUC__)
#define ILLUME_API __attribute__((visibility("default")))
#else
#define ILLUME_API
#endif

#define ILLUME_MAX_RANK 8

typedef enum illume_status {
    ILLUME_OK = 0,
    ILLUME_ERROR_INTERNAL = 1,      /* a broken invariant inside illume */
    ILLUME_ERROR_IO = 3,            /* a file could not be read or written */
    ILLUME_ERROR_INVALID_MODEL = 4, /* malformed or inconsistent model */
    ILLUME_ERROR_UNSUPPORTED = 5,   /* valid ONNX that illume does not run */
    ILLUME_ERROR_INVALID_INPUT = 6, /* wrong shape, bad argument, corrupt data */
    ILLUME_ERROR_OUT_OF_MEMORY = 7,
    ILLUME_ERROR_BACKEND = 8        /* the compute library reported a failure */
} illume_status;

typedef enum illume_dtype {
    ILLUME_FLOAT32 = 1,
    ILLUME_INT64 = 7
} illume_dtype;

/* A dense, contiguous, row-major tensor in host memory. */
typedef struct illume_tensor {
    illume_dtype dtype;
    int rank;
    int64_t dims[ILLUME_MAX_RANK];
    void *data;
} illume_tensor;

typedef struct illume_context illume_context;
typedef struct illume_model illume_model;
typedef struct illume_session illume_session;

/* Context ------------------------------------------------------------------ */

ILLUME_API illume_context *illume_context_create(void);
ILLUME_API void illume_context_destroy(illume_context *context);
ILLUME_API const char *illume_last_error(const illume_context *context);
/* Threads used by the CPU backend; 0 means all cores. */
ILLUME_API void illume_set_threads(illume_context *context, int threads);
ILLUME_API const char *illume_status_name(illume_status status);
ILLUME_API const char *illume_version(void);
/* The ILLUME_API_VERSION the library was built with. */
ILLUME_API int illume_api_version(void);

/* Option structs ----------------------------------------------------------- */

/* illume_session_options and illume_explain_options start with `size`, the
 * sizeof the struct in the caller's illume.h, so that a program and a
 * library built from different versions of this header can tell which
 * fields the other has. Make one only through its *_default macro, which
 * sets size and every field's default, then change the fields wanted:
 *
 *     illume_session_options options;
 *     illume_session_options_default(&options);
 *     options.profile = 1;
 *
 * The library refuses (ILLUME_ERROR_INVALID_INPUT, with a message) a struct
 * of size 0 (not made by the *_default macro: a zeroed struct, say) and one
 * larger than its own (the program was built against a newer illume.h than
 * the library). Of a smaller struct of a size an earlier illume.h gave it,
 * it reads only the fields that header declared and takes the defaults for
 * the rest (there is none yet: size came with API version 1); any other size
 * is refused too. Fields are only ever added at the end, and each version
 * that adds some makes the struct larger. */

/* Models ------------------------------------------------------------------- */

ILLUME_API illume_status illume_model_load(illume_context *context, const char *path, illume_model **model);
/* base_directory resolves external data files; NULL refuses external data. */
ILLUME_API illume_status illume_model_load_from_memory(illume_context *context, const void *bytes, size_t size,
                                                       const char *base_directory, illume_model **model);
ILLUME_API void illume_model_free(illume_model *model);

typedef struct illume_value_info {
    const char *name;
    illume_dtype dtype;
    int rank;                      /* -1 when the model does not say */
    int64_t dims[ILLUME_MAX_RANK]; /* -1 for a symbolic or unknown dimension */
    const char *dim_names[ILLUME_MAX_RANK]; /* symbolic names, or NULL */
} illume_value_info;

ILLUME_API int illume_model_input_count(const illume_model *model);
ILLUME_API int illume_model_output_count(const illume_model *model);
ILLUME_API illume_status illume_model_input(const illume_model *model, int index, illume_value_info *info);
ILLUME_API illume_status illume_model_output(const illume_model *model, int index, illume_value_info *info);

/* Whether the model's input `index` takes its channels last, (N, H, W, C),
 * as TensorFlow's and JAX's exports do: 1 where the graph shows it (a
 * Transpose to (N, C, H, W) before the first convolution), else 0. */
ILLUME_API int illume_model_input_channels_last(const illume_model *model, int index);

/* Inspection (illume info) ------------------------------------------------- */

/* Loads like illume_model_load but records unsupported ops, attributes and
 * domains as problems instead of refusing; such a model cannot make a session. */
ILLUME_API illume_status illume_model_inspect(illume_context *context, const char *path, illume_model **model);
ILLUME_API int illume_model_problem_count(const illume_model *model);
ILLUME_API const char *illume_model_problem(const illume_model *model, int index);

typedef struct illume_node_info {
    const char *name;
    const char *op_type;
    int supported;
    int output_count; /* its outputs, in order, in illume_model_values */
} illume_node_info;

ILLUME_API int illume_model_node_count(const illume_model *model);
ILLUME_API illume_status illume_model_node(const illume_model *model, int index, illume_node_info *info);
ILLUME_API int illume_model_opset(const illume_model *model);
ILLUME_API const char *illume_model_producer(const illume_model *model);
/* Elements of every float initializer. */
ILLUME_API int64_t illume_model_parameter_count(const illume_model *model);
/* Floating-point operations of one run (a multiply-add counts 2) for the given input shapes. */
ILLUME_API illume_status illume_model_flops(illume_context *context, const illume_model *model, int input_count,
                                            const illume_tensor *input_shapes, int64_t *flops);

/* The outputs of the model's nodes, in node order: how many, and each one's
 * name, dtype and shape for the given input shapes (as for
 * illume_model_flops) into values[illume_model_value_count(model)]; names
 * point into the model, rank is -1 for an omitted output or one that
 * constant folding removed. These are the names --layer and --feature take. */
ILLUME_API int illume_model_value_count(const illume_model *model);
ILLUME_API illume_status illume_model_values(illume_context *context, const illume_model *model, int input_count,
                                             const illume_tensor *input_shapes, illume_value_info *values);

/* The batch size a model fixes in its inputs' first dimension (PyTorch's
 * export without dynamic axes, Keras with a batch in its signature), and
 * whether sessions of other batch sizes work: illume rewrites the constants
 * that carry the batch (Reshape shapes and the like) and checks by shape
 * inference that nothing else changes (docs/architecture.md); where that
 * fails, the model runs `fixed` rows at a time and `reason` says why. */
typedef struct illume_batch_info {
    int64_t fixed; /* 0: the batch dimension is symbolic */
    int rebinds;   /* sessions take any batch size */
    char reason[512];
} illume_batch_info;

/* input_shapes: one per input, of which only the dimensions after the batch
 * are read; NULL takes the model's declared shapes, which must be known. */
ILLUME_API illume_status illume_model_batch(illume_context *context, const illume_model *model,
                                            const illume_tensor *input_shapes, illume_batch_info *info);

/* Replaces a graph input by a constant (tests and fixed-parameter inputs). */
ILLUME_API illume_status illume_model_set_constant_input(illume_context *context, illume_model *model, const char *name,
                                                         const illume_tensor *value);

/* Sessions ----------------------------------------------------------------- */

typedef struct illume_session_options {
    size_t size;            /* see "Option structs" above */
    /* "cpu", "cuda" or "cuda:N" (builds with the CUDA backend, docs/gpu.md),
     * or "auto", the CPU until the CUDA backend is verified on a GPU; NULL
     * means "auto" */
    const char *device;
    /* fold BatchNormalization, and a Mul, Div, Add or Sub by a per-channel
     * constant (how TensorFlow exporters leave BatchNorm and a Dense bias),
     * into the Conv, ConvTranspose, Gemm or MatMul before it, where exact */
    int fold_batchnorm;
    int fuse_activations;   /* run a Relu or a residual Add inside the Conv before it */
    int profile;            /* time every node (synchronizing after each); see illume_session_profile */
    int channels_last;      /* keep activations channels last where the backend prefers it */
    /* Forward only, where the backend gains (the CPU): run the first nodes,
     * whose activations outweigh their weights, one image at a time, so an
     * image's activations stay in the caches (docs/architecture.md). */
    int split_batch;
    /* Forward only, where the backend has it (the CPU, with AVX-512): 3x3
     * stride-1 convolutions with enough channels and pixels run by Winograd's
     * algorithm, about twice as fast. Its sums round differently from the
     * direct ones (about 1e-6 relative on the zoo's outputs). */
    int winograd;
    /* CUDA (docs/gpu.md); the CPU backend ignores both. fast: non-deterministic
     * cuDNN algorithms and TF32 math in cuDNN and cuBLAS; autotune: cuDNN
     * times its convolution algorithms once per node instead of ranking them
     * by heuristics. */
    int fast;
    int autotune;
    /* Backward passes (illume_session_backward) ------------------------- */
    int backward;              /* plan one: keep what it reads, place the gradients */
    const char *backward_from; /* the value whose gradient the caller seeds; NULL: the first output */
    const char *backward_to;   /* the value whose gradient is wanted; NULL: every graph input */
    const char *const *keep;   /* values whose data and gradient stay readable (illume_session_read) */
    int keep_count;
} illume_session_options;

/* Sets options->size to `size` and the fields it covers to their defaults;
 * call it through illume_session_options_default, which passes the size. */
ILLUME_API void illume_session_options_init(illume_session_options *options, size_t size);
#define illume_session_options_default(options) illume_session_options_init((options), sizeof *(options))

/* input_shapes holds one illume_tensor per graph input, in the model's order;
 * only dtype, rank and dims are read. */
ILLUME_API illume_status illume_session_create(illume_context *context, const illume_model *model,
                                               const illume_session_options *options, int input_count,
                                               const illume_tensor *input_shapes, illume_session **session);
ILLUME_API void illume_session_free(illume_session *session);

/* The shapes of the session's outputs, known once the session is made. */
ILLUME_API int illume_session_output_count(const illume_session *session);
ILLUME_API illume_status illume_session_output(const illume_session *session, int index, illume_value_info *info);

/* inputs: one per graph input, shapes as given at creation. outputs: one per
 * graph output; data must point at a buffer of the output's byte size. */
ILLUME_API illume_status illume_session_run(illume_session *session, int input_count, const illume_tensor *inputs,
                                            int output_count, illume_tensor *outputs);

typedef struct illume_session_stats {
    size_t arena_bytes;      /* the planned activation arena */
    size_t activation_bytes; /* sum of all intermediate tensors, as if none were reused */
    size_t constant_bytes;   /* weights and folded constants */
    int node_count;          /* nodes left to run after folding */
    int image_node_count;    /* of those, the first ones that run one image at a time (split_batch) */
    int winograd_count;      /* convolutions run by Winograd's algorithm; known once the session has run */
} illume_session_stats;

ILLUME_API void illume_session_get_stats(const illume_session *session, illume_session_stats *stats);

/* How a backward pass treats each Relu: the gradient; guided backpropagation
 * (positive gradient where the input was positive, as Captum's
 * GuidedBackprop); deconvnet (the ReLU of the gradient, as Captum's
 * Deconvolution). Every other op uses its gradient under all three. */
typedef enum illume_rule {
    ILLUME_RULE_GRADIENT = 0,
    ILLUME_RULE_GUIDED = 1,
    ILLUME_RULE_DECONV = 2
} illume_rule;

/* Runs the backward pass of the last illume_session_run of a session made
 * with options.backward: seed is the gradient of backward_from (its shape).
 * The gradients are then read with illume_session_read. One backward pass
 * per run: it reuses the memory of the forward values it reads. */
ILLUME_API illume_status illume_session_backward(illume_session *session, illume_rule rule, const illume_tensor *seed);

/* Copies a value's data (gradient 0) or gradient (gradient 1) into out,
 * whose dtype, rank and dims must match (illume_session_value tells them).
 * Readable: graph inputs and outputs, backward_from, backward_to and the kept
 * values; gradients of graph inputs (or of backward_to) after a backward. */
ILLUME_API illume_status illume_session_read(illume_session *session, const char *name, int gradient,
                                             illume_tensor *out);
/* The shape of a value of the session by name (its logical shape, NCHW). */
ILLUME_API illume_status illume_session_value(const illume_session *session, const char *name, illume_value_info *info);

/* Time spent per op type, forward and backward apart, over all runs of a
 * session made with profile set: entry index in [0, count) where count is
 * the return value. One entry, of op_type ILLUME_PROFILE_TRANSFERS, times
 * the transfers between host and device (inputs, outputs, seeds and values
 * read). */
#define ILLUME_PROFILE_TRANSFERS "transfers"
typedef struct illume_profile_entry {
    const char *op_type;
    int backward; /* the time of the op's backward pass */
    double seconds;
    int64_t calls;
} illume_profile_entry;
ILLUME_API int illume_session_profile(const illume_session *session, int index, illume_profile_entry *entry);

/* Explanations -------------------------------------------------------------- */

typedef enum illume_method {
    ILLUME_SALIENCY,           /* the gradient of the target (signed; absolute with `absolute`) */
    ILLUME_GRADXINPUT,         /* input x gradient */
    ILLUME_GUIDED_BACKPROP,    /* the gradient under the guided Relu rule */
    ILLUME_DECONVNET,          /* the gradient under the deconvnet Relu rule */
    ILLUME_INTEGRATED_GRADIENTS,
    ILLUME_SMOOTHGRAD,         /* mean of the base method over noisy copies */
    ILLUME_SMOOTHGRAD_SQUARED, /* mean of its square */
    ILLUME_VARGRAD,            /* its variance */
    ILLUME_GRADCAM,
    ILLUME_GRADCAM_PLUS_PLUS,
    ILLUME_GUIDED_GRADCAM,
    ILLUME_OCCLUSION,
    ILLUME_LRP, /* layer-wise relevance propagation with a composite of rules */
    ILLUME_DEEPLIFT, /* DeepLIFT's rescale rule against a baseline (as integrated gradients') */
    ILLUME_DEEPLIFT_REVEAL_CANCEL, /* DeepLIFT with RevealCancel at nonlinearities after linear nodes */
    ILLUME_METHOD_COUNT
} illume_method;

/* How integrated gradients places its steps on the path (Captum's names). */
typedef enum illume_quadrature {
    ILLUME_GAUSS_LEGENDRE,
    ILLUME_RIEMANN_LEFT,
    ILLUME_RIEMANN_RIGHT,
    ILLUME_RIEMANN_MIDDLE,
    ILLUME_RIEMANN_TRAPEZOID
} illume_quadrature;

typedef enum illume_baseline {
    ILLUME_BASELINE_ZEROS,
    ILLUME_BASELINE_CONSTANT, /* every element baseline_value */
    ILLUME_BASELINE_TENSOR,   /* baseline_tensor: one row, or one per input row */
    ILLUME_BASELINE_BLUR      /* the input blurred by a Gaussian of blur_sigma pixels */
} illume_baseline;

/* What is explained for a model whose first output is a Softmax (or
 * LogSoftmax): the logit, the Softmax's input (the default, for every
 * method, as the same network exported without its Softmax would be), or
 * the probability, the model's output (not for LRP, whose relevance starts
 * at a logit). A model without a final Softmax is explained at its output. */
typedef enum illume_score { ILLUME_SCORE_LOGIT = 0, ILLUME_SCORE_PROBABILITY = 1 } illume_score;

typedef struct illume_explain_options {
    size_t size;                  /* see "Option structs" above */
    illume_method method;
    int absolute;                 /* saliency: the magnitude of the gradient */
    int steps;                    /* integrated gradients (default 50) */
    illume_quadrature quadrature; /* default Gauss-Legendre, as Captum */
    illume_baseline baseline;     /* integrated gradients; default zeros */
    float baseline_value;
    const illume_tensor *baseline_tensor;
    float blur_sigma;             /* default 10, at most 10000 */
    int samples;                  /* SmoothGrad family (default 50) */
    float noise;                  /* noise standard deviation as a fraction of each input's max - min (0.15) */
    float sigma;                  /* absolute standard deviation instead, when positive */
    illume_method base;           /* the method the SmoothGrad family averages (default saliency) */
    uint64_t seed;                /* for the noise (Philox), so runs repeat bit for bit */
    /* Grad-CAM family: the value to explain at (default: see docs/methods.md);
     * lrp: a value whose relevance is returned instead of the input's (a tap) */
    const char *layer;
    int sum_channels;             /* lrp with a tap: the relevance summed over channels, (N, 1, ...) */
    int upsample;                 /* Grad-CAM: bilinear to the input's size instead of the layer's */
    int64_t window[2], stride[2]; /* occlusion (default 15x15, stride 8) */
    /* The gradient methods can explain a feature map instead of an output
     * (Zeiler and Fergus): the backward starts at the value named `feature`,
     * seeded with its activation in channel `feature_channel` and zero in the
     * other channels. NULL: start at the target output. */
    const char *feature;
    int64_t feature_channel;
    float fill;                   /* occlusion: what the window holds */
    size_t max_memory;            /* bytes the engine may use for a batch; 0: a quarter of available memory */
    const char *device;           /* as illume_session_options.device */
    int fast, autotune;           /* as illume_session_options.fast and .autotune */
    int profile;                  /* time every node, as illume_session_options.profile */
    /* LRP (docs/methods.md): a composite of rules (epsilon-plus-flat, the
     * default; epsilon-plus, epsilon-gamma-box, epsilon-alpha2-beta1,
     * epsilon-alpha2-beta1-flat, preset-a, preset-b, preset-a-flat,
     * preset-b-flat, or none), then a rule map over it, such as
     * "first=zbox:-3,3; conv=gamma:0.25; dense=epsilon:1e-6; node:NAME=flat". */
    const char *composite;
    const char *rules;
    float epsilon;    /* the composites' epsilon rule (default 1e-6) */
    float gamma;      /* the composites' gamma rule (default 0.25) */
    float stabilizer; /* every other rule's stabilizer (default 1e-6) */
    float low, high;  /* epsilon-gamma-box's input bounds (no default) */
    illume_score score;
} illume_explain_options;

/* As illume_session_options_init, for illume_explain_options. */
ILLUME_API void illume_explain_options_init(illume_explain_options *options, size_t size);
#define illume_explain_options_default(options) illume_explain_options_init((options), sizeof *(options))
ILLUME_API const char *illume_method_name(illume_method method);
/* By name: saliency, gradxinput, guided-backprop, deconvnet, ig, smoothgrad,
 * smoothgrad-sq, vargrad, gradcam, gradcam++, guided-gradcam, occlusion, lrp,
 * deeplift, deeplift-revealcancel. */
ILLUME_API illume_status illume_method_from_name(const char *name, illume_method *method);

/* What a method is, from the method table (explain/methods.c). */
typedef struct illume_method_info {
    const char *name;
    const char *help;  /* one line */
    int uses_layer;    /* explains at a layer (options.layer, or its default) */
    int has_delta;     /* its rows report a delta */
    int uses_baseline; /* takes options.baseline */
    int features;      /* can explain a feature map (options.feature) */
    int nonnegative;   /* its maps are never negative under these options */
} illume_method_info;
/* options (NULL: the defaults) decide what depends on them, nonnegative. */
ILLUME_API illume_status illume_method_describe(illume_method method, const illume_explain_options *options,
                                                illume_method_info *info);

typedef struct illume_explainer illume_explainer;

/* What an explanation reports per input row: the target explained (the top
 * class when asked for -1), the model's output for it, and for integrated
 * gradients the completeness delta sum(attribution) - (f(x) - f(baseline)). */
typedef struct illume_explain_row {
    int64_t target;
    float score;
    float delta; /* NaN for methods without one */
} illume_explain_row;

typedef struct illume_explain_report {
    double seconds;
    int64_t batch_rows;   /* rows a pass runs at once (chosen from max_memory) */
    int64_t passes;       /* forward (and backward) passes run */
    size_t peak_bytes;    /* the largest planned arena of the sessions used */
} illume_explain_report;

/* An explainer for inputs shaped like `row` (one input row: batch dimension 1). */
ILLUME_API illume_status illume_explainer_create(illume_context *context, const illume_model *model,
                                                 const illume_explain_options *options, const illume_tensor *row,
                                                 illume_explainer **explainer);
ILLUME_API void illume_explainer_free(illume_explainer *explainer);
/* The shape of the attributions of `rows` input rows: the input's, or the
 * layer's (N, 1, h, w) for the Grad-CAM family without upsampling. */
ILLUME_API illume_status illume_explainer_shape(const illume_explainer *explainer, int64_t rows, illume_tensor *shape);
/* Explains inputs (N rows) for targets (N indices into a row of the first
 * output, -1 for its top entry); writes attributions (illume_explainer_shape)
 * and, when not NULL, rows (N) and report. */
ILLUME_API illume_status illume_explain(illume_explainer *explainer, const illume_tensor *inputs,
                                        const int64_t *targets, illume_tensor *attributions, illume_explain_row *rows,
                                        illume_explain_report *report);
/* LRP: the rule each node of the explained graph (after BatchNormalization
 * folding) gets, in execution order; index from 0, returns the number of
 * nodes (entry filled when index is below it). */
typedef struct illume_rule_entry {
    int index;           /* of the node in the explained graph */
    const char *node;    /* its name (may be empty) */
    const char *op_type;
    char rule[64];       /* the rule and its parameters, as a rule map writes it */
    int conserves;       /* 0 for alpha-beta with alpha - beta != 1, which does not conserve relevance */
} illume_rule_entry;

ILLUME_API int illume_explainer_rule(const illume_explainer *explainer, int index, illume_rule_entry *entry);

/* What the rows' scores (and the explanations) are of: "logit",
 * "probability", "log-probability" (a model ending in LogSoftmax, explained
 * at its output) or "output" (a model without a final Softmax). */
ILLUME_API const char *illume_explainer_score(const illume_explainer *explainer);

/* With options.profile: the time per op type, forward and backward apart,
 * over every pass the explainer ran, as illume_session_profile. */
ILLUME_API int illume_explainer_profile(const illume_explainer *explainer, int index, illume_profile_entry *entry);

/* Backends ----------------------------------------------------------------- */

/* Whether this build has the CUDA backend, and how many CUDA devices the
 * CUDA runtime sees (0 without the backend, a driver or a GPU). */
ILLUME_API int illume_has_cuda(void);
ILLUME_API int illume_cuda_devices(void);
/* The most device memory this process has held at once on CUDA devices
 * through illume (arenas, weights, workspaces), in bytes; 0 without CUDA. */
ILLUME_API size_t illume_cuda_peak_bytes(void);

/* Utilities ---------------------------------------------------------------- */

/* Bytes of a tensor's data; 0 on overflow or a bad rank. */
ILLUME_API size_t illume_tensor_bytes(const illume_tensor *tensor);

#ifdef __cplusplus
}
#endif

#endif
