/* The machinery every explanation method shares: one session sized to the
 * memory budget, and passes that stream rows through it in batches — each
 * row made on demand by the method (an interpolation step, a noisy copy, an
 * occluded copy) and each result handed back as soon as its batch is done, so
 * memory stays flat however many steps or samples a method takes. */
#ifndef ILLUME_EXPLAINER_H
#define ILLUME_EXPLAINER_H

#include "backend.h"
#include "context.h"
#include "illume.h"

#define EXPLAIN_SESSIONS 3

/* An image-like row or layer: channels planes of height x width, stored
 * channels first (N, C, H, W), or channels last (N, H, W, C), as a model
 * exported from TensorFlow or JAX takes its input (runtime/channel_axis.c
 * tells which). explain_pixel finds the position of a row's element. */
typedef struct explain_image {
    int64_t channels, height, width;
    int channels_last;
} explain_image;

/* Where element `element` of a row lies in its plane of height x width pixels. */
static inline int64_t explain_pixel(const explain_image *image, int64_t element) {
    int64_t plane = image->height * image->width;
    return image->channels_last ? (element / image->channels) % plane : element % plane;
}

/* One batch in flight through a pass (explainer_run): its rows, targets and
 * results on the host (those that move to or from the device in page-locked
 * memory), and the device copies of its rows and gradients that move beside
 * the computation. A pass has two, so that one batch computes while the
 * other's rows and gradients move. */
typedef struct explain_slot {
    int64_t start, rows;
    float *inputs, *outputs, *gradients;
    int64_t *targets;
    float *layer_gradients, *layer_data; /* methods with a layer */
    float *feature_sums;                 /* per row and channel: a feature-map pass's outputs */
    float *staged_input, *staged_gradient; /* on the device */
} explain_slot;

struct illume_explainer {
    illume_context *context;
    const illume_model *model;
    illume_explain_options options;
    char *input_name;
    char *output_name;
    char *layer;             /* the Grad-CAM family's layer, NULL for other methods */
    illume_tensor row;       /* the shape of one input row */
    int64_t row_elements;
    int64_t output_elements; /* per row of the first output */
    int64_t layer_elements;  /* per row of the layer */
    illume_value_info layer_info;
    explain_image input_image; /* rows of rank 3 and more */
    explain_image layer_image; /* the Grad-CAM family's layer */
    illume_tensor *baseline; /* a copy of the baseline tensor asked for, or NULL */
    char *feature;           /* the feature map the backward starts at, or NULL */
    illume_value_info feature_info;
    int64_t feature_elements; /* per row */
    float *feature_seed;
    int backward;            /* the method needs gradients */
    int64_t batch;           /* the most rows a pass runs at once (from the memory budget) */
    int64_t fixed_rows;      /* a model that runs only the batch it fixes: that batch, each pass padded to it */
    char batch_reason[512];  /* why it cannot be rebound */
    /* Sessions by their number of rows: a pass of fewer rows than the batch
     * gets a session of its size, reused while it stays among the recent. */
    illume_session *sessions[EXPLAIN_SESSIONS];
    int64_t session_rows[EXPLAIN_SESSIONS];
    uint64_t session_used[EXPLAIN_SESSIONS], clock;
    illume_session *session; /* the one the current pass runs on */
    backend *device;         /* owns the methods' device rows (explain_device_rows) */
    double *profile_seconds;  /* with options.profile: the profile of the sessions freed so far */
    int64_t *profile_calls;
    int64_t rows;            /* its rows */
    explain_slot slots[2];
    int64_t slot_rows;       /* the slots and the seed hold batches of up to this many rows */
    float *seed;
    illume_explain_report report;
    char *composite, *rules;         /* copies of the options' strings */
    char *logits;                    /* a model ending in Softmax explained at its logits: the Softmax's input */
    const char *score_name;          /* what the scores are: logit, probability, log-probability or output */
    illume_rule_entry *rule_entries; /* LRP: the rule of every node, for illume_explainer_rule */
    char **rule_strings;             /* their node names and op types */
    int rule_count;
};

/* A batch as it lies on the session's device, for methods that make their
 * rows and sum their gradients there (IG's path points, SmoothGrad's noise,
 * occlusion's windows) instead of moving every row through the host. */
typedef struct explain_device {
    backend *backend;       /* the session's: ops on it run in order with the passes */
    float *input;           /* the batch's input rows, row_elements apart */
    const float *gradient;  /* after a backward: the input's gradient rows; NULL where none flows */
    int64_t row_elements;
    /* Methods with a layer (the Grad-CAM family), after a backward: its data and gradient rows. */
    const float *layer, *layer_gradient;
    int layer_channels_last; /* both stored (N, H, W, C) */
} explain_device;

/* What a pass's backward runs: the gradient under a Relu rule (as
 * illume_rule's), or the backward rule the method's sessions were made
 * with (LRP's relevance, DeepLIFT's multipliers: explain/methods.c). */
typedef enum pass_rule { PASS_GRADIENT, PASS_GUIDED, PASS_DECONV, PASS_METHOD } pass_rule;

/* One stream of rows through the session. */
typedef struct explain_pass {
    int backward;      /* run the backward pass too */
    pass_rule rule;
    void *closure;
    /* Writes row `index` into row, and its target into *target (-1: the top
     * entry of the row's own output). */
    illume_status (*source)(void *closure, int64_t index, float *row, int64_t *target);
    /* Takes row `index`'s results: its target, the model's output row, and
     * after a backward the gradient of the input (NULL for the Grad-CAM
     * family, whose backward stops at the layer) and, for methods with a
     * layer, the layer's gradient and data. A batch's rows are consumed
     * after its gather and before the next batch's gather, while the next
     * batch computes. */
    illume_status (*consume)(void *closure, int64_t index, int64_t target, const float *output,
                             const float *gradient, const float *layer_gradient, const float *layer);
    /* On the device instead (either may be NULL): build writes rows
     * start .. start + rows - 1 into device->input and their targets in
     * place of source; gather takes their gradients (and layers) after the
     * backward, which are then not read to the host (consume gets NULL for
     * the gradient and the layer's data and gradient). */
    illume_status (*build)(void *closure, const explain_device *device, int64_t start, int64_t rows,
                           int64_t *targets);
    illume_status (*gather)(void *closure, const explain_device *device, int64_t start, int64_t rows);
} explain_pass;

/* The caller's input rows as they are, each with its target: a pass over
 * them starts its closure with this and takes explain_input_source as its
 * source. */
typedef struct explain_inputs {
    const float *inputs;
    int64_t row_elements;
    const int64_t *targets;
} explain_inputs;

illume_status explain_input_source(void *closure, int64_t index, float *row, int64_t *target);

/* A session of `batch` rows for the explainer's method (explain/explainer.c). */
illume_status explain_make_session(illume_explainer *e, int64_t batch, illume_session **session);
/* Frees the pipeline's slots and seeds (explain/pipeline.c). */
void explain_free_slots(illume_explainer *e);

/* Runs count rows through the session; its device work has finished when it returns. */
illume_status explainer_run(illume_explainer *explainer, const explain_pass *pass, int64_t count);

/* Memory for a method's own device rows, on the explainer's backend (made on
 * first use, for the device its sessions run on): `elements` floats, copied
 * from host when it is not NULL, else zero. explain_device_read copies
 * them back; explain_device_free releases them (NULL is fine). */
illume_status explain_device_rows(illume_explainer *e, const float *host, int64_t elements, float **rows);
illume_status explain_device_read(illume_explainer *e, const float *rows, int64_t elements, float *host);
void explain_device_free(illume_explainer *e, float *rows);
/* Copies count contiguous floats on the device. */
illume_status explain_device_copy(backend *device, const float *from, int64_t count, float *to);

/* The top entry of an output row. */
int64_t explain_top(const float *output, int64_t count);

/* Resolves targets of -1 to the top entry of each input's output, and fills
 * rows[].target and rows[].score, with one forward pass over the inputs. */
illume_status explain_targets(illume_explainer *e, const float *inputs, int64_t count, int64_t *targets,
                              illume_explain_row *rows);

/* The methods, one file each in explain/: each fills attributions (the shape
 * illume_explainer_shape gives) and rows for the inputs. */
typedef illume_status (*explain_method)(illume_explainer *explainer, const float *inputs, int64_t count,
                                        const int64_t *targets, float *attributions, illume_explain_row *rows);

illume_status explain_deeplift(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                               float *attributions, illume_explain_row *rows);
illume_status explain_lrp(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                          float *attributions, illume_explain_row *rows);
/* LRP: sets every node's rule on a session made with lrp_backward_rule
 * (explain/lrp_rules.c), and lists them the first time. */
illume_status explain_lrp_rules(illume_explainer *e, illume_session *session);
void explain_free_rules(illume_explainer *e);
/* DeepLIFT: the state of the rescale or RevealCancel rule on a session made with deeplift_backward_rule. */
illume_status explain_deeplift_rescale(illume_explainer *e, illume_session *session);
illume_status explain_deeplift_reveal_cancel(illume_explainer *e, illume_session *session);

illume_status explain_saliency(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                               float *attributions, illume_explain_row *rows);
illume_status explain_gradxinput(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                 float *attributions, illume_explain_row *rows);
illume_status explain_guided_backprop(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                      float *attributions, illume_explain_row *rows);
illume_status explain_deconvnet(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                float *attributions, illume_explain_row *rows);
illume_status explain_integrated_gradients(illume_explainer *e, const float *inputs, int64_t count,
                                           const int64_t *targets, float *attributions, illume_explain_row *rows);
illume_status explain_smoothgrad(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                 float *attributions, illume_explain_row *rows);
illume_status explain_gradcam(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                              float *attributions, illume_explain_row *rows);
illume_status explain_guided_gradcam(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                     float *attributions, illume_explain_row *rows);
illume_status explain_occlusion(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                float *attributions, illume_explain_row *rows);

/* The methods' option checks (the method table's `check`). */
illume_status explain_check_integrated_gradients(illume_context *context, const illume_explain_options *options);
illume_status explain_check_smoothgrad(illume_context *context, const illume_explain_options *options);
illume_status explain_check_occlusion(illume_context *context, const illume_explain_options *options);

/* The gradient of each input row under a rule, the plain machinery of the
 * gradient methods; scores (may be NULL) receive the output at the target. */
illume_status explain_gradients(illume_explainer *e, pass_rule rule, const float *inputs, int64_t count,
                                const int64_t *targets, float *gradients, illume_explain_row *rows);

#endif
