/* The explanation methods, one row each (explain/methods.c): what the
 * explainer, the command line's help and parser, and the docs know of a
 * method. Adding a method is its file in explain/, a row here, and its
 * illume_method value. */
#ifndef ILLUME_EXPLAIN_METHODS_H
#define ILLUME_EXPLAIN_METHODS_H

#include "backward_rule.h"
#include "explainer.h"

typedef struct method_definition {
    const char *name; /* as -m takes it */
    explain_method run;
    /* Refuses options the method cannot take; NULL when it has none to check. */
    illume_status (*check)(illume_context *context, const illume_explain_options *options);
    int backward;      /* runs backward passes (every method but occlusion) */
    int uses_layer;    /* explains at a layer, the Grad-CAM family's (options.layer, or a default) */
    int layer_only;    /* its backward stops at the layer, and it returns a map of the layer's plane */
    int taps;          /* options.layer names a value whose attribution it returns instead of the input's */
    int logit_only;    /* explains a model ending in Softmax at its logit alone */
    /* The backward rule its sessions are made with (LRP's, DeepLIFT's: runtime/backward_rule.h), NULL for the
     * ops' gradients; seed_output: its backward starts from the target's output rather than 1. */
    const backward_rule *rule;
    int seed_output;
    int paired_rows;   /* runs each input beside its baseline in one pass */
    int uses_baseline; /* takes options.baseline */
    int has_delta;     /* rows report a delta: completeness, or conservation */
    int features;      /* explains a feature map (options.feature) as well as an output */
    /* Whether its maps are never negative under the options; NULL: they can be. */
    int (*nonnegative)(const illume_explain_options *options);
    /* Gives a session its rule's state (LRP's rules); NULL for nothing to set. */
    illume_status (*prepare_session)(illume_explainer *explainer, illume_session *session);
    const char *help;  /* one line: what it is */
} method_definition;

/* The method's row; NULL for a value outside the enum. */
const method_definition *method_definition_of(illume_method method);

#endif
