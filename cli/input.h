/* The INPUT of illume run: one .npy tensor, or images preprocessed into one
 * batch. */
#ifndef ILLUME_CLI_INPUT_H
#define ILLUME_CLI_INPUT_H

#include "illume.h"
#include "image.h"

typedef struct input_options {
    int width, height; /* 0: take the size from the model's input shape, else 224 */
    float mean[3], std[3];
    int channels_last; /* -1 until given or taken from the model (input_choose_layout) */
} input_options;

void input_options_default(input_options *options);
/* Takes the layout the model's first input shows where --layout gave none. */
void input_choose_layout(input_options *options, const illume_model *model);

/* Fills tensor (data malloc'd) from paths: a single .npy file, or images, one
 * per batch row, shaped for the model's first input. */
illume_status input_load(char **paths, int count, const illume_value_info *model_input, const input_options *options,
                         illume_tensor *tensor, char *error, size_t size);

/* Parses the preprocessing flags shared by run and explain (--size, --mean,
 * --std, --layout, --imagenet). Returns 1 when argv[*i] was one of them (and
 * advances *i past its value), 0 when not, -1 on a bad value (message printed). */
int input_parse_option(const char *command, int argc, char **argv, int *i, input_options *options);

extern const char *const input_options_help;

#endif
