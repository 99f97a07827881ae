/* The method table: one row per illume_method, in the enum's order. */
#include "methods.h"

#include "api_version.h"
#include "deeplift_backward.h"
#include "lrp_backward.h"

#include <string.h>

static int always(const illume_explain_options *options) {
    (void)options;
    return 1;
}

static int absolute_saliency(const illume_explain_options *options) { return options->absolute; }

static int absolute_saliency_base(const illume_explain_options *options) {
    return options->absolute && options->base == ILLUME_SALIENCY;
}

static const method_definition methods[ILLUME_METHOD_COUNT] = {
    [ILLUME_SALIENCY] = {.name = "saliency", .run = explain_saliency, .backward = 1, .features = 1,
                         .nonnegative = absolute_saliency,
                         .help = "the gradient of the target (its magnitude with --abs)"},
    [ILLUME_GRADXINPUT] = {.name = "gradxinput", .run = explain_gradxinput, .backward = 1, .features = 1,
                           .help = "input times gradient"},
    [ILLUME_GUIDED_BACKPROP] = {.name = "guided-backprop", .run = explain_guided_backprop, .backward = 1,
                                .features = 1, .help = "the gradient through guided Relus"},
    [ILLUME_DECONVNET] = {.name = "deconvnet", .run = explain_deconvnet, .backward = 1, .features = 1,
                          .help = "the gradient through deconvnet Relus"},
    [ILLUME_INTEGRATED_GRADIENTS] = {.name = "ig", .run = explain_integrated_gradients,
                                     .check = explain_check_integrated_gradients, .backward = 1,
                                     .uses_baseline = 1, .has_delta = 1,
                                     .help = "integrated gradients from a baseline (--steps, --baseline)"},
    [ILLUME_SMOOTHGRAD] = {.name = "smoothgrad", .run = explain_smoothgrad, .check = explain_check_smoothgrad,
                           .backward = 1, .nonnegative = absolute_saliency_base, .help = "the base method averaged over noisy copies (--samples, --noise)"},
    [ILLUME_SMOOTHGRAD_SQUARED] = {.name = "smoothgrad-sq", .run = explain_smoothgrad,
                                   .check = explain_check_smoothgrad, .backward = 1, .nonnegative = always,
                                   .help = "the base method squared, averaged over noisy copies"},
    [ILLUME_VARGRAD] = {.name = "vargrad", .run = explain_smoothgrad, .check = explain_check_smoothgrad,
                        .backward = 1, .nonnegative = always, .help = "the base method's variance over noisy copies"},
    [ILLUME_GRADCAM] = {.name = "gradcam", .run = explain_gradcam, .backward = 1, .uses_layer = 1, .layer_only = 1,
                        .nonnegative = always, .help = "Grad-CAM at a layer (--layer, --upsample)"},
    [ILLUME_GRADCAM_PLUS_PLUS] = {.name = "gradcam++", .run = explain_gradcam, .backward = 1, .uses_layer = 1,
                                  .layer_only = 1, .nonnegative = always, .help = "Grad-CAM++ at a layer"},
    [ILLUME_GUIDED_GRADCAM] = {.name = "guided-gradcam", .run = explain_guided_gradcam, .backward = 1,
                               .uses_layer = 1, .help = "guided backpropagation times the upsampled Grad-CAM map"},
    [ILLUME_OCCLUSION] = {.name = "occlusion", .run = explain_occlusion, .check = explain_check_occlusion,
                          .help = "the drop of the target under a sliding window (--window, --stride, --fill)"},
    [ILLUME_LRP] = {.name = "lrp", .run = explain_lrp, .backward = 1, .rule = &lrp_backward_rule, .seed_output = 1,
                    .has_delta = 1, .taps = 1, .logit_only = 1, .prepare_session = explain_lrp_rules,
                    .help = "layer-wise relevance propagation (--composite, --rules)"},
    [ILLUME_DEEPLIFT] = {.name = "deeplift", .run = explain_deeplift, .backward = 1, .rule = &deeplift_backward_rule,
                         .prepare_session = explain_deeplift_rescale, .paired_rows = 1, .uses_baseline = 1, .has_delta = 1,
                         .help = "DeepLIFT's rescale rule against a baseline"},
    [ILLUME_DEEPLIFT_REVEAL_CANCEL] = {.name = "deeplift-revealcancel", .run = explain_deeplift, .backward = 1,
                                       .rule = &deeplift_backward_rule, .paired_rows = 1, .uses_baseline = 1,
                                       .has_delta = 1, .prepare_session = explain_deeplift_reveal_cancel,
                                       .help = "DeepLIFT with RevealCancel after linear layers"},
};

const method_definition *method_definition_of(illume_method method) {
    return method >= 0 && method < ILLUME_METHOD_COUNT ? &methods[method] : NULL;
}

const char *illume_method_name(illume_method method) {
    const method_definition *definition = method_definition_of(method);
    return definition ? definition->name : "unknown";
}

illume_status illume_method_from_name(const char *name, illume_method *method) {
    for (int m = 0; name && m < ILLUME_METHOD_COUNT; m++)
        if (strcmp(name, methods[m].name) == 0) {
            *method = (illume_method)m;
            return ILLUME_OK;
        }
    return ILLUME_ERROR_INVALID_INPUT;
}

illume_status illume_method_describe(illume_method method, const illume_explain_options *options,
                                     illume_method_info *info) {
    const method_definition *definition = method_definition_of(method);
    if (!definition || !info) return ILLUME_ERROR_INVALID_INPUT;
    illume_explain_options accepted;
    illume_explain_options_default(&accepted);
    /* No context here to hold a message: a struct of unknown size is refused by its status alone. */
    if (options) ILLUME_TRY(options_accept(NULL, "illume_explain_options", options, &accepted, sizeof accepted));
    options = &accepted;
    *info = (illume_method_info){.name = definition->name, .help = definition->help,
                                 .uses_layer = definition->uses_layer, .has_delta = definition->has_delta,
                                 .uses_baseline = definition->uses_baseline, .features = definition->features,
                                 .nonnegative = definition->nonnegative && definition->nonnegative(options)};
    return ILLUME_OK;
}
