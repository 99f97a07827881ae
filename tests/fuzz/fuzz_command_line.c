/* libFuzzer target for the command line: the bytes, split at NUL bytes, are
 * an argument vector, `COMMAND ARG...`, given to the command_* function of
 * cli/ that `illume COMMAND` runs (info, run, bench, explain). Any vector
 * gives one of the documented exit codes, never a crash.
 *
 * How an input stays confined and short:
 *   - every command runs in the scratch folder (fuzz_scratch.c), emptied and
 *     filled again before each input with the files of tests/fuzz/fixtures
 *     (model.onnx, a tiny CNN on 3x8x8 images; input.npy; image.png;
 *     image.jpg; labels.txt; rules.json); `explain` with no arguments looks
 *     for its demo in demo/ (ILLUME_DEMO_DIR="demo"), which is not there:
 *     every method on the demo would take seconds under the sanitizers, and
 *     the methods run one by one from other inputs;
 *   - a vector with an argument that holds a '/' or is ".." is skipped, so
 *     that every path a command writes (-o, --json, --heatmap, dataset
 *     folders) names a file in that folder and none outside it;
 *   - the options whose value sets the amount of work are capped before the
 *     command sees them: each number in the value of --steps, --samples
 *     (4), --iterations (2), --warmup (1), --batch, --threads (2), --shape
 *     and --size (16 each dimension) that is larger is replaced by the cap,
 *     and a --blur-sigma from 100 to 10000 (the largest allowed) by 100;
 *     values the parsers refuse reach them as they are, but for numbers
 *     over an integer option's own bound, which are capped too. Costly defaults (bench's 20 runs after 3
 *     warm-up runs, 50 steps of ig, 50 samples of SmoothGrad) are lowered by
 *     options put before the input's own, which override them. An input
 *     then runs in a fraction of a second, and the fuzzer's -timeout
 *     (tests/fuzz/run_fuzzer.sh) fails any that takes longer, so a slow
 *     path is reported, not waited for;
 *   - the runners give it one OpenMP thread (OMP_NUM_THREADS=1) and close
 *     stdout and stderr (-close_fd_mask=3).
 * Built by -DILLUME_FUZZ=ON with clang; replay_regressions.c replays saved
 * inputs through the same function in every build. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fuzz_scratch.h"

#ifndef ILLUME_FUZZ_FIXTURES
#error "ILLUME_FUZZ_FIXTURES names the folder of tests/fuzz/fixtures"
#endif

#define MAX_ARGUMENTS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct cap {
    const char *option;
    long long most;
} cap;

static const cap integer_caps[] = {{"--steps", 4},  {"--samples", 4}, {"--iterations", 2}, {"--warmup", 1},
                                   {"--batch", 4},  {"--threads", 2}, {"--shape", 16},     {"--size", 16}};

/* Replaces every run of digits in value that reads larger than most by most. */
static void cap_numbers(char *value, long long most) {
    char capped[4096];
    size_t used = 0;
    for (const char *at = value; *at && used + 24 < sizeof capped;) {
        if (!isdigit((unsigned char)*at)) {
            capped[used++] = *at++;
            continue;
        }
        const char *end = at;
        while (isdigit((unsigned char)*end)) end++;
        int long_run = end - at > 18;
        long long number = long_run ? 0 : strtoll(at, NULL, 10);
        if (long_run || number > most) used += (size_t)snprintf(capped + used, sizeof capped - used, "%lld", most);
        else {
            memcpy(capped + used, at, (size_t)(end - at));
            used += (size_t)(end - at);
        }
        at = end;
    }
    capped[used] = '\0';
    strcpy(value, capped);
}

static void cap_work(int count, char **arguments) {
    for (int a = 0; a + 1 < count; a++) {
        for (size_t c = 0; c < sizeof integer_caps / sizeof integer_caps[0]; c++)
            if (strcmp(arguments[a], integer_caps[c].option) == 0) cap_numbers(arguments[a + 1], integer_caps[c].most);
        double sigma = strcmp(arguments[a], "--blur-sigma") == 0 ? strtod(arguments[a + 1], NULL) : 0.0;
        if (sigma > 100.0 && sigma <= 10000.0) strcpy(arguments[a + 1], "100");
    }
}

/* Runs the command with the cheaper defaults put before the input's arguments. */
static int run_command(int count, char **arguments) {
    static char *bench_defaults[] = {"--iterations", "1", "--warmup", "0", "--steps", "4", "--samples", "4"};
    const char *command = arguments[0];
    int bench = strcmp(command, "bench") == 0, explain = strcmp(command, "explain") == 0;
    char **defaults = bench_defaults + (bench ? 0 : 4);
    int default_count = bench ? 8 : explain ? 4 : 0;
    char *vector[MAX_ARGUMENTS + 9];
    vector[0] = arguments[0];
    memcpy(vector + 1, defaults, sizeof(char *) * (size_t)default_count);
    memcpy(vector + 1 + default_count, arguments + 1, sizeof(char *) * (size_t)count);
    int total = count + default_count;
    if (strcmp(command, "info") == 0) return command_info(total, vector);
    if (strcmp(command, "run") == 0) return command_run(total, vector);
    if (bench) return command_bench(total, vector);
    if (explain) return command_explain(total, vector);
    return EXIT_USAGE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int started;
    if (!started) {
        fuzz_require(chdir(fuzz_scratch()) == 0, "fuzz_command_line", "cannot enter the scratch folder", NULL);
        started = 1;
    }
    /* Arguments are copied with room to grow: a capped number can be longer than the digits it replaces. */
    char *arguments[MAX_ARGUMENTS + 1];
    int count = 0;
    for (size_t start = 0; start < size && count < MAX_ARGUMENTS;) {
        const uint8_t *end = memchr(data + start, 0, size - start);
        size_t length = end ? (size_t)(end - (data + start)) : size - start;
        if (length > 1000) length = 1000;
        arguments[count] = calloc(1, 4096);
        fuzz_require(arguments[count] != NULL, "fuzz_command_line", "out of memory", NULL);
        memcpy(arguments[count], data + start, length);
        count++;
        start += (end ? (size_t)(end - (data + start)) : size - start) + 1;
    }
    arguments[count] = NULL;
    int confined = count > 0;
    for (int a = 0; a < count; a++) confined &= !strchr(arguments[a], '/') && strcmp(arguments[a], "..") != 0;
    if (confined) {
        cap_work(count, arguments);
        fuzz_scratch_reset(ILLUME_FUZZ_FIXTURES);
        int code = run_command(count, arguments);
        fuzz_require(code >= 0 && code <= ILLUME_ERROR_BACKEND, "fuzz_command_line", "an undocumented exit code",
                     arguments[0]);
    }
    for (int a = 0; a < count; a++) free(arguments[a]);
    return 0;
}
