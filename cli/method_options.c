#include "method_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *const method_options_help =
    "Method options:\n"
    "  --abs                 saliency: the magnitude of the gradient\n"
    "  --steps N             integrated gradients' steps (default 50)\n"
    "  --quadrature Q        gauss-legendre (default), left, right, middle, trapezoid\n"
    "  --baseline B          ig, deeplift: zeros (default), a number, a .npy file, or blur\n"
    "  --blur-sigma S        the blurred baseline's Gaussian, in pixels (default 10, at\n"
    "                        most 10000)\n"
    "  --samples N           SmoothGrad family: noisy copies (default 50)\n"
    "  --noise F             noise deviation as a fraction of each input's range (0.15)\n"
    "  --sigma S             absolute noise deviation instead\n"
    "  --base METHOD         what the SmoothGrad family averages: saliency (default),\n"
    "                        gradxinput, guided-backprop, ig\n"
    "  --seed N              the noise's seed (default 0)\n"
    "  --layer NAME          Grad-CAM family: the value to explain at (default: the input\n"
    "                        of the last GlobalAveragePool, else of the first Flatten;\n"
    "                        illume info MODEL --values lists the names)\n"
    "  --upsample            Grad-CAM: bilinear to the input's size\n"
    "  --feature NAME        gradient methods: explain a feature map instead of an output\n"
    "                        (Zeiler and Fergus): the backward starts at the value NAME,\n"
    "                        seeded with its activation in --channel C, the other channels 0\n"
    "  --channel C           the feature map's channel (default 0)\n"
    "  --window H,W          occlusion window (default 15,15)\n"
    "  --stride H,W          occlusion stride (default 8,8)\n"
    "  --fill V              what the occlusion window holds (default 0)\n"
    "  --composite NAME      LRP: epsilon-plus-flat (default), epsilon-plus,\n"
    "                        epsilon-gamma-box, epsilon-alpha2-beta1,\n"
    "                        epsilon-alpha2-beta1-flat, preset-a, preset-b, preset-a-flat,\n"
    "                        preset-b-flat, none (epsilon everywhere linear)\n"
    "  --rules MAP           LRP: rules over the composite, KEY=RULE separated by ';', e.g.\n"
    "                        'first=zbox:-3,3; conv=gamma:0.25; dense=epsilon:1e-6;\n"
    "                        node:NAME=flat; index:4-9=pass'; keys first, conv, dense, add,\n"
    "                        avgpool, maxpool, activation, batchnorm, node:NAME, index:A-B;\n"
    "                        rules epsilon[:E], gamma[:G], alpha-beta:A,B, zplus,\n"
    "                        zbox[:LOW,HIGH], flat, wsquare, pass, norm, gradient; or a\n"
    "                        .json file of {\"KEY\": \"RULE\", ...}\n"
    "  --epsilon E           LRP: the epsilon rule's epsilon (default 1e-6)\n"
    "  --gamma G             LRP: the gamma rule's gamma (default 0.25)\n"
    "  --stabilizer S        LRP: the other rules' stabilizer (default 1e-6)\n"
    "  --low L, --high H     LRP: the input's bounds for zbox (epsilon-gamma-box)\n"
    "  --tap NAME            LRP: output the relevance at the value NAME instead of the\n"
    "                        input's (illume info MODEL --values lists the names)\n"
    "  --tap-sum             LRP with --tap: summed over channels\n"
    "  --score S             a model ending in Softmax: explain the logit (the Softmax's\n"
    "                        input; the default, for every method) or the probability\n"
    "                        (its output; not for lrp)\n"
    "  --max-memory SIZE     memory for a batch of rows, e.g. 512M or 4G (default: a\n"
    "                        quarter of the available memory)\n";

/* A byte count with an optional K, M or G (powers of 1024). */
static int parse_size(const char *text, size_t *bytes) {
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || end == text || !(value > 0)) return -1;
    double unit = 1.0;
    if (*end == 'K' || *end == 'k') unit = 1024.0;
    if (*end == 'M' || *end == 'm') unit = 1048576.0;
    if (*end == 'G' || *end == 'g') unit = 1073741824.0;
    if (unit > 1.0) end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end || value * unit >= 1e18) return -1;
    *bytes = (size_t)(value * unit);
    return 0;
}

/* A rule map from a JSON object of strings, {"KEY": "RULE", ...}, as the
 * KEY=RULE;... text the library reads. */
static int parse_rules_file(const char *path, const char **rules) {
    static char map[16384];
    FILE *file = fopen(path, "rb");
    if (!file) return -1;
    char text[16384];
    size_t length = fread(text, 1, sizeof text - 1, file);
    int too_long = !feof(file);
    fclose(file);
    if (too_long) return -1;
    text[length] = '\0';
    char strings[2][1024];
    size_t used = 0;
    int count = 0, expect_open = 1;
    map[0] = '\0';
    for (const char *at = text; *at; at++) {
        if (*at == ' ' || *at == '\n' || *at == '\r' || *at == '\t' || *at == ',' || *at == ':') continue;
        if (expect_open) {
            if (*at != '{') return -1;
            expect_open = 0;
            continue;
        }
        if (*at == '}') {
            *rules = map;
            return count % 2 == 0 && !at[strspn(at + 1, " \n\r\t") + 1] ? 0 : -1;
        }
        if (*at != '"') return -1;
        size_t n = 0;
        for (at++; *at && *at != '"'; at++) {
            if (*at == '\\' && at[1]) at++;
            if (n + 1 >= sizeof strings[0] || *at == ';' || *at == '=') return -1;
            strings[count % 2][n++] = *at;
        }
        if (!*at) return -1;
        strings[count % 2][n] = '\0';
        if (++count % 2 == 0) {
            int written = snprintf(map + used, sizeof map - used, "%s%s=%s", used ? ";" : "", strings[0], strings[1]);
            if (written < 0 || (size_t)written >= sizeof map - used) return -1;
            used += (size_t)written;
        }
    }
    return -1;
}

static int parse_pair(const char *text, int64_t *pair) {
    int64_t dims[2];
    int rank;
    if (parse_shape(text, dims, 2, &rank) || dims[0] < 1 || dims[rank - 1] < 1) return -1;
    pair[0] = dims[0];
    pair[1] = dims[rank - 1];
    return 0;
}

static int parse_quadrature(const char *text, illume_quadrature *quadrature) {
    static const char *const names[] = {"gauss-legendre", "left", "right", "middle", "trapezoid"};
    for (int q = 0; q < 5; q++)
        if (strcmp(text, names[q]) == 0) {
            *quadrature = (illume_quadrature)q;
            return 0;
        }
    return -1;
}

static int parse_number(const char *text, float low, float *value) {
    int count;
    return parse_floats(text, value, 1, &count) || !(*value >= low) ? -1 : 0;
}

static int parse_baseline(const char *text, illume_explain_options *o, const char **baseline_path) {
    float value;
    int count;
    if (strcmp(text, "zeros") == 0) {
        o->baseline = ILLUME_BASELINE_ZEROS;
    } else if (strcmp(text, "blur") == 0) {
        o->baseline = ILLUME_BASELINE_BLUR;
    } else if (parse_floats(text, &value, 1, &count) == 0) {
        o->baseline = ILLUME_BASELINE_CONSTANT;
        o->baseline_value = value;
    } else {
        o->baseline = ILLUME_BASELINE_TENSOR;
        *baseline_path = text;
    }
    return 0;
}

/* Parses the value of one valued option; 0 on success. */
static int parse_value(const char *flag, const char *value, illume_explain_options *o, const char **baseline_path) {
    long long number;
    if (strcmp(flag, "--steps") == 0) {
        if (parse_int(value, 1, 100000, &number)) return -1;
        o->steps = (int)number;
    } else if (strcmp(flag, "--samples") == 0) {
        if (parse_int(value, 1, 100000, &number)) return -1;
        o->samples = (int)number;
    } else if (strcmp(flag, "--seed") == 0) {
        if (parse_int(value, 0, INT64_MAX, &number)) return -1;
        o->seed = (uint64_t)number;
    } else if (strcmp(flag, "--quadrature") == 0) {
        return parse_quadrature(value, &o->quadrature);
    } else if (strcmp(flag, "--baseline") == 0) {
        return parse_baseline(value, o, baseline_path);
    } else if (strcmp(flag, "--blur-sigma") == 0) {
        return parse_number(value, 1e-6f, &o->blur_sigma);
    } else if (strcmp(flag, "--noise") == 0) {
        return parse_number(value, 0.0f, &o->noise);
    } else if (strcmp(flag, "--sigma") == 0) {
        return parse_number(value, 1e-30f, &o->sigma);
    } else if (strcmp(flag, "--fill") == 0) {
        int count;
        return parse_floats(value, &o->fill, 1, &count);
    } else if (strcmp(flag, "--base") == 0) {
        return illume_method_from_name(value, &o->base) == ILLUME_OK ? 0 : -1;
    } else if (strcmp(flag, "--layer") == 0 || strcmp(flag, "--tap") == 0) {
        o->layer = value;
    } else if (strcmp(flag, "--feature") == 0) {
        o->feature = value;
    } else if (strcmp(flag, "--channel") == 0) {
        if (parse_int(value, 0, INT64_MAX, &number)) return -1;
        o->feature_channel = number;
    } else if (strcmp(flag, "--window") == 0) {
        return parse_pair(value, o->window);
    } else if (strcmp(flag, "--stride") == 0) {
        return parse_pair(value, o->stride);
    } else if (strcmp(flag, "--composite") == 0) {
        o->composite = value;
    } else if (strcmp(flag, "--rules") == 0) {
        size_t length = strlen(value);
        if (length > 5 && strcmp(value + length - 5, ".json") == 0) return parse_rules_file(value, &o->rules);
        o->rules = value;
    } else if (strcmp(flag, "--epsilon") == 0) {
        return parse_number(value, 0.0f, &o->epsilon);
    } else if (strcmp(flag, "--gamma") == 0) {
        return parse_number(value, 0.0f, &o->gamma);
    } else if (strcmp(flag, "--stabilizer") == 0) {
        return parse_number(value, 0.0f, &o->stabilizer);
    } else if (strcmp(flag, "--low") == 0) {
        int count;
        return parse_floats(value, &o->low, 1, &count);
    } else if (strcmp(flag, "--high") == 0) {
        int count;
        return parse_floats(value, &o->high, 1, &count);
    } else if (strcmp(flag, "--score") == 0) {
        if (strcmp(value, "logit") && strcmp(value, "probability")) return -1;
        o->score = strcmp(value, "logit") == 0 ? ILLUME_SCORE_LOGIT : ILLUME_SCORE_PROBABILITY;
    } else {
        return parse_size(value, &o->max_memory);
    }
    return 0;
}

int method_option_parse(const char *command, int argc, char **argv, int *i, illume_explain_options *o,
                        const char **baseline_path) {
    const char *flag = argv[*i];
    if (strcmp(flag, "--abs") == 0) {
        o->absolute = 1;
        return 1;
    }
    if (strcmp(flag, "--upsample") == 0) {
        o->upsample = 1;
        return 1;
    }
    if (strcmp(flag, "--tap-sum") == 0) {
        o->sum_channels = 1;
        return 1;
    }
    static const char *const valued[] = {"--steps", "--quadrature", "--baseline", "--blur-sigma", "--samples",
                                         "--noise", "--sigma", "--base", "--seed", "--layer", "--window",
                                         "--stride", "--fill", "--max-memory", "--feature", "--channel",
                                         "--composite", "--rules", "--epsilon", "--gamma", "--stabilizer", "--low",
                                         "--high", "--tap", "--score"};
    int known = 0;
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= strcmp(flag, valued[k]) == 0;
    if (!known) return 0;
    if (*i + 1 >= argc) {
        usage_error(command, "%s needs a value", flag);
        return -1;
    }
    const char *value = argv[++*i];
    if (parse_value(flag, value, o, baseline_path)) {
        usage_error(command, "bad value '%s' for %s", value, flag);
        return -1;
    }
    return 1;
}
