/* The size rule of the option structs (include/illume.h, "Option structs"):
 * the *_default macros set size and write no byte past it; the library takes
 * a struct they made, and refuses, with a message saying why, one of size 0
 * (zeroed, not made by them), one larger than its own (a program built
 * against a newer illume.h) and one of a size no illume.h gave it.
 *
 *   api_option_sizes MODEL.onnx: a model of one input, float32 (1, 3, 32, 32) */
#include <stdio.h>
#include <string.h>

#include "illume.h"

static int failures;

static void expect(int condition, const char *what) {
    if (!condition) {
        printf("FAIL %s\n", what);
        failures++;
    }
}

/* Whether status refuses invalid input with a message that holds `words`. */
static int refused(illume_context *context, illume_status status, const char *words) {
    if (status == ILLUME_ERROR_INVALID_INPUT && strstr(illume_last_error(context), words)) return 1;
    printf("status %s, message '%s'; expected invalid input naming '%s'\n", illume_status_name(status),
           illume_last_error(context), words);
    return 0;
}

/* The macros write the defaults into the bytes the size covers, and no others. */
static void defaults_stay_inside(void) {
    union {
        illume_session_options options;
        unsigned char bytes[sizeof(illume_session_options)];
    } smaller;
    memset(smaller.bytes, 0xab, sizeof smaller.bytes);
    size_t size = offsetof(illume_session_options, fold_batchnorm);
    illume_session_options_init(&smaller.options, size);
    expect(smaller.options.size == size, "init sets the size it is given");
    int untouched = 1;
    for (size_t b = size; b < sizeof smaller.bytes; b++) untouched &= smaller.bytes[b] == 0xab;
    expect(untouched, "init writes nothing past the size it is given");

    illume_explain_options options;
    illume_explain_options_default(&options);
    expect(options.size == sizeof options && options.steps == 50,
           "illume_explain_options_default sets the size and the defaults");
}

static void session_sizes(illume_context *context, const illume_model *model, const illume_tensor *shape) {
    illume_session *session = NULL;
    illume_session_options options;
    illume_session_options_default(&options);
    expect(options.size == sizeof options, "illume_session_options_default sets the size");
    expect(illume_session_create(context, model, &options, 1, shape, &session) == ILLUME_OK,
           "a session from options made by the macro");
    illume_session_free(session);

    illume_session_options zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    expect(refused(context, illume_session_create(context, model, &zeroed, 1, shape, &session),
                   "illume_session_options has size 0: make it with illume_session_options_default"),
           "zeroed session options are refused");
    expect(session == NULL, "no session from refused options");

    /* What a program built against a newer illume.h passes: a struct with a field this library lacks. */
    struct {
        illume_session_options options;
        int added_later;
    } newer;
    illume_session_options_init(&newer.options, sizeof newer);
    expect(refused(context, illume_session_create(context, model, &newer.options, 1, shape, &session),
                   "built against a newer illume.h"),
           "session options larger than the library's are refused");

    options.size = offsetof(illume_session_options, fold_batchnorm);
    expect(refused(context, illume_session_create(context, model, &options, 1, shape, &session),
                   "is no size an illume.h gave it"),
           "session options of an unknown smaller size are refused");
}

static void explain_sizes(illume_context *context, const illume_model *model, const illume_tensor *shape) {
    illume_explainer *explainer = NULL;
    illume_explain_options options;
    illume_explain_options_default(&options);
    expect(illume_explainer_create(context, model, &options, shape, &explainer) == ILLUME_OK,
           "an explainer from options made by the macro");
    illume_explainer_free(explainer);

    illume_explain_options zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    expect(refused(context, illume_explainer_create(context, model, &zeroed, shape, &explainer),
                   "illume_explain_options has size 0: make it with illume_explain_options_default"),
           "zeroed explain options are refused");
    expect(explainer == NULL, "no explainer from refused options");
    illume_method_info info;
    expect(illume_method_describe(ILLUME_SALIENCY, &zeroed, &info) == ILLUME_ERROR_INVALID_INPUT,
           "illume_method_describe refuses zeroed options");

    struct {
        illume_explain_options options;
        double added_later;
    } newer;
    illume_explain_options_init(&newer.options, sizeof newer);
    expect(refused(context, illume_explainer_create(context, model, &newer.options, shape, &explainer),
                   "built against a newer illume.h"),
           "explain options larger than the library's are refused");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: api_option_sizes MODEL.onnx\n");
        return 2;
    }
    expect(illume_api_version() == ILLUME_API_VERSION, "the library's API version is the header's");
    defaults_stay_inside();
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    if (!context || illume_model_load(context, argv[1], &model) != ILLUME_OK) {
        printf("FAIL cannot load %s: %s\n", argv[1], illume_last_error(context));
        return 1;
    }
    illume_tensor shape = {.dtype = ILLUME_FLOAT32, .rank = 4, .dims = {1, 3, 32, 32}};
    session_sizes(context, model, &shape);
    explain_sizes(context, model, &shape);
    illume_model_free(model);
    illume_context_destroy(context);
    if (failures == 0) printf("option sizes: ok\n");
    return failures ? 1 : 0;
}
