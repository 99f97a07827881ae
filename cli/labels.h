/* Class names, one a line of a --labels file, for the printed classes. */
#ifndef ILLUME_CLI_LABELS_H
#define ILLUME_CLI_LABELS_H

typedef struct labels {
    char **names;
    int count;
} labels;

/* Appends the lines of path to result; -1 when the file cannot be opened. */
int labels_load(const char *path, labels *result);
void labels_free(labels *l);

#endif
