/* libFuzzer target for LRP's rule maps (--rules): the bytes, as text up to
 * the first NUL, are a KEY=RULE;... map given to illume_explainer_create for
 * the tiny CNN of tests/fuzz/fixtures (explain/lrp_rules.c parses it); the
 * same bytes as a .json file go through illume explain's --rules reader
 * (cli/method_options.c), and a map it accepts to the explainer too. Either
 * gives an explainer whose every node has a rule, or a status with a
 * message. Built by -DILLUME_FUZZ=ON with clang; replay_regressions.c
 * replays saved inputs through the same function in every build. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_scratch.h"
#include "method_options.h"

#ifndef ILLUME_FUZZ_FIXTURES
#error "ILLUME_FUZZ_FIXTURES names the folder of tests/fuzz/fixtures"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static illume_context *context;
static illume_model *model;

static void load_model(void) {
    context = illume_context_create();
    fuzz_require(context != NULL, "fuzz_rules", "no context", NULL);
    illume_set_threads(context, 1);
    illume_status status = illume_model_load(context, ILLUME_FUZZ_FIXTURES "/model.onnx", &model);
    fuzz_require(status == ILLUME_OK, "fuzz_rules", "cannot load the fixture model", illume_last_error(context));
}

static void explain_with(const char *rules) {
    illume_explain_options options;
    illume_explain_options_default(&options);
    options.method = ILLUME_LRP;
    options.rules = rules;
    options.low = -3.0f; /* so that zbox rules have the input's bounds */
    options.high = 3.0f;
    options.max_memory = (size_t)64 << 20;
    illume_tensor row = {.dtype = ILLUME_FLOAT32, .rank = 4, .dims = {1, 3, 8, 8}};
    illume_explainer *explainer = NULL;
    illume_status status = illume_explainer_create(context, model, &options, &row, &explainer);
    if (status != ILLUME_OK) {
        fuzz_require(status == ILLUME_ERROR_INVALID_INPUT || status == ILLUME_ERROR_UNSUPPORTED, "fuzz_rules",
                     "a rule map failed with an unexpected status", illume_last_error(context));
        fuzz_require(illume_last_error(context)[0] != '\0', "fuzz_rules", "a rule map failed without a message",
                     NULL);
        fuzz_require(explainer == NULL, "fuzz_rules", "a failed explainer was returned", NULL);
        return;
    }
    int count = illume_explainer_rule(explainer, -1, NULL);
    fuzz_require(count > 0, "fuzz_rules", "an LRP explainer lists no rules", NULL);
    for (int k = 0; k < count; k++) {
        illume_rule_entry entry;
        illume_explainer_rule(explainer, k, &entry);
        fuzz_require(entry.node && entry.op_type && entry.rule[0], "fuzz_rules", "a node without a rule", NULL);
    }
    illume_explainer_free(explainer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!model) load_model();
    char *text = malloc(size + 1);
    fuzz_require(text != NULL, "fuzz_rules", "out of memory", NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    explain_with(text);

    char path[4096];
    fuzz_scratch_write("rules.json", data, size, path, sizeof path);
    char *arguments[] = {"--rules", path};
    int next = 0;
    illume_explain_options parsed;
    illume_explain_options_default(&parsed);
    const char *baseline = NULL;
    int result = method_option_parse("explain", 2, arguments, &next, &parsed, &baseline);
    fuzz_require(result == 1 || result == -1, "fuzz_rules", "--rules was not recognized", NULL);
    if (result == 1) explain_with(parsed.rules);
    free(text);
    return 0;
}
