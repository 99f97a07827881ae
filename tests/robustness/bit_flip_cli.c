/* Runs `illume info` and `illume run` on many bit-flipped copies of a valid
 * model. Whatever the damage, illume must exit with 0 (the flip hit a weight),
 * 4 (invalid model), 5 (unsupported) or 6 (the input no longer fits), say
 * why on stderr when it fails, finish in time, and leave no sanitizer report.
 * Usage: bit_flip_cli ILLUME MODEL INPUT.npy WORK_DIR SEEDS
 * A failing copy is kept as WORK_DIR/failure-SEED.onnx. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mutation.h"

#define SECONDS_PER_RUN 60

static int write_file(const char *path, const unsigned char *bytes, size_t size) {
    FILE *file = fopen(path, "wb");
    if (!file) return -1;
    int ok = fwrite(bytes, 1, size, file) == size;
    return fclose(file) == 0 && ok ? 0 : -1;
}

/* Runs argv with stderr captured in stderr_path; returns the wait status, or -1. */
static int run(char *const argv[], const char *stderr_path) {
    pid_t child = fork();
    if (child < 0) return -1;
    if (child == 0) {
        int error = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open("/dev/null", O_WRONLY);
        if (error < 0 || null < 0) _exit(127);
        dup2(null, STDOUT_FILENO);
        dup2(error, STDERR_FILENO);
        alarm(SECONDS_PER_RUN); /* survives exec: a hang ends in SIGALRM */
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return status;
}

/* Checks one run; prints what is wrong and returns 0 when it is fine. */
static int check(int status, const char *stderr_path, const char *what) {
    size_t size = 0;
    unsigned char *text = mutation_read_file(stderr_path, &size);
    if (!text) {
        printf("%s: cannot read its stderr\n", what);
        return -1;
    }
    text[size] = '\0';
    const char *message = (const char *)text;
    int problem = 0;
    if (status < 0 || WIFSIGNALED(status)) {
        printf("%s: killed by signal %d%s\n", what, status < 0 ? -1 : WTERMSIG(status),
               status >= 0 && WTERMSIG(status) == SIGALRM ? " (it hung)" : "");
        problem = 1;
    } else {
        int code = WEXITSTATUS(status);
        if (code != 0 && code != 4 && code != 5 && code != 6) {
            printf("%s: exit code %d, expected 0, 4, 5 or 6\n", what, code);
            problem = 1;
        }
        if (code != 0 && strncmp(message, "illume", 6) != 0) {
            printf("%s: exit code %d without an illume message on stderr\n", what, code);
            problem = 1;
        }
    }
    if (strstr(message, "Sanitizer") || strstr(message, "runtime error:")) {
        printf("%s: sanitizer report\n", what);
        problem = 1;
    }
    if (problem) printf("--- stderr\n%.3000s\n", message);
    free(text);
    return problem ? -1 : 0;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: bit_flip_cli ILLUME MODEL INPUT.npy WORK_DIR SEEDS\n");
        return 2;
    }
    char *illume = argv[1], *input = argv[3];
    const char *work = argv[4];
    int seeds = atoi(argv[5]);
    size_t size;
    unsigned char *model = mutation_read_file(argv[2], &size);
    unsigned char *copy = model ? malloc(size + 1) : NULL;
    if (!model || !copy || size == 0) {
        fprintf(stderr, "bit_flip_cli: cannot read %s\n", argv[2]);
        return 1;
    }
    char mutant[4096], stderr_path[4096];
    snprintf(mutant, sizeof mutant, "%s/mutant.onnx", work);
    snprintf(stderr_path, sizeof stderr_path, "%s/stderr.txt", work);
    int failures = 0, exits[9] = {0};
    for (int seed = 1; seed <= seeds; seed++) {
        uint64_t state = (uint64_t)seed * 0x100000001b3u;
        memcpy(copy, model, size);
        mutation_flip_bits(&state, copy, size, 1 + seed % 4);
        if (write_file(mutant, copy, size)) {
            fprintf(stderr, "bit_flip_cli: cannot write %s\n", mutant);
            return 1;
        }
        char *info[] = {illume, "info", mutant, NULL};
        char *forward[] = {illume, "run", mutant, input, NULL};
        char *const *commands[] = {info, forward};
        int failed = 0;
        for (int c = 0; c < 2; c++) {
            char what[128];
            snprintf(what, sizeof what, "seed %d, illume %s", seed, commands[c][1]);
            int status = run(commands[c], stderr_path);
            if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) < 9) exits[WEXITSTATUS(status)]++;
            if (check(status, stderr_path, what)) failed = 1;
        }
        if (failed) {
            char kept[4096];
            snprintf(kept, sizeof kept, "%s/failure-%d.onnx", work, seed);
            rename(mutant, kept);
            printf("kept the model as %s\n", kept);
            failures++;
        }
    }
    printf("%d seeds, %d failing; exit codes:", seeds, failures);
    for (int c = 0; c < 9; c++)
        if (exits[c]) printf(" %d x%d", c, exits[c]);
    printf("\n");
    free(model);
    free(copy);
    return failures ? 1 : 0;
}
