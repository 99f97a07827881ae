/* The options of the explanation methods, shared by illume explain and
 * illume bench -m. */
#ifndef ILLUME_CLI_METHOD_OPTIONS_H
#define ILLUME_CLI_METHOD_OPTIONS_H

#include "illume.h"

/* Parses one method option at argv[*i] into o: 1 when it was one (and *i
 * moved past its value), 0 when not, -1 on a bad value (message printed). A
 * baseline given as a file sets *baseline_path. */
int method_option_parse(const char *command, int argc, char **argv, int *i, illume_explain_options *o,
                        const char **baseline_path);

extern const char *const method_options_help;

#endif
