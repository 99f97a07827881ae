/* Which LRP rule each node gets: the base rules every composite shares
 * (Zennit's layer_map_base: activations pass, sums and average pools norm,
 * an unfolded BatchNormalization and LRN pass, everything else its gradient),
 * then the composite's rules for convolutions, dense layers and the first
 * layer, then the user's rule map over them. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explainer.h"
#include "lrp_backward.h"
#include "weight_variants.h"
#include "session.h"

typedef struct composite {
    const char *name;
    const char *conv, *dense, *first; /* rules as a map writes them; NULL: epsilon, or no special first */
    int first_conv_only;              /* the first layer is the first convolution, not any linear node */
} composite;

/* Zennit's composites and iNNvestigate's presets; "epsilon" takes --epsilon,
 * "gamma" --gamma, "zbox" --low and --high. */
static const composite composites[] = {
    {"epsilon-plus-flat", "zplus", "epsilon", "flat", 0},
    {"epsilon-plus", "zplus", "epsilon", NULL, 0},
    {"epsilon-gamma-box", "gamma", "epsilon", "zbox", 1},
    {"epsilon-alpha2-beta1", "alpha-beta:2,1", "epsilon", NULL, 0},
    {"epsilon-alpha2-beta1-flat", "alpha-beta:2,1", "epsilon", "flat", 0},
    {"preset-a", "alpha-beta:1,0", "epsilon:0.1", NULL, 0},
    {"preset-b", "alpha-beta:2,1", "epsilon:0.1", NULL, 0},
    {"preset-a-flat", "alpha-beta:1,0", "epsilon:0.1", "flat", 0},
    {"preset-b-flat", "alpha-beta:2,1", "epsilon:0.1", "flat", 0},
    {"none", "epsilon", "epsilon", NULL, 0},
};

static const char *op_name(const graph_node *node) { return node->op >= 0 ? op_get(node->op)->name : node->op_type; }

static int is_conv(const graph_node *node) { return graph_op_kind(node) == KIND_CONVOLUTION; }

static int64_t elements(const graph *g, int v) {
    int64_t count = 0;
    if (v >= 0) shape_element_count(g->values[v].rank, g->values[v].dims, &count);
    return count;
}

static int is_gate_value(const graph *g, int v) {
    int producer = g->values[v].producer;
    if (producer < 0) return 0;
    return op_node_has(&g->nodes[producer], OP_GATE);
}

/* A Mul of a value by a gate (squeeze-excite, or x times sigmoid(x)): the
 * operand that is not the gate and has the output's shape, or -1. */
static int gated_operand(const graph *g, const graph_node *node) {
    if (!graph_node_is(node, "Mul") || node->input_count != 2) return -1;
    int a = node->inputs[0], b = node->inputs[1];
    if (a < 0 || b < 0 || g->values[a].constant || g->values[b].constant) return -1;
    int64_t out = elements(g, node->outputs[0]), sizes[2] = {elements(g, a), elements(g, b)};
    if (sizes[0] == out && sizes[1] < out) return 0;
    if (sizes[1] == out && sizes[0] < out) return 1;
    if (sizes[0] == out && sizes[1] == out && is_gate_value(g, b) != is_gate_value(g, a))
        return is_gate_value(g, b) ? 0 : 1;
    return -1;
}

/* A Mul, Div, Add or Sub of one data operand by a constant that the
 * session did not fold into a linear node before it (runtime/fold_affine.c):
 * the data operand, or -1. */
static int affine_operand(const graph *g, const graph_node *node) {
    if (!op_node_has(node, OP_AFFINE) || node->input_count != 2 || node->inputs[0] < 0 || node->inputs[1] < 0)
        return -1;
    int constant[2] = {g->values[node->inputs[0]].constant != NULL, g->values[node->inputs[1]].constant != NULL};
    if (constant[0] == constant[1]) return -1;
    return constant[0] ? 1 : 0;
}

static lrp_rule base_rule(const graph *g, const graph_node *node, float stabilizer) {
    lrp_rule rule = {.kind = LRP_GRADIENT, .epsilon = stabilizer};
    int operand = gated_operand(g, node), affine = affine_operand(g, node);
    if (operand >= 0) {
        rule.kind = LRP_GATE;
        rule.operand = operand;
    } else if (affine >= 0) {
        /* Each output depends on one input element, so its relevance stays
         * with it (the gradient would scale relevance by the constant). A
         * data operand that broadcasts shares by the norm rule, x R / y,
         * which also conserves for a scale; an Add or Sub that broadcasts
         * sums its relevance back by its gradient. */
        int shaped = elements(g, node->inputs[affine]) == elements(g, node->outputs[0]);
        int scales = op_node_has(node, OP_SCALING);
        if (shaped) {
            rule.kind = LRP_GATE;
            rule.operand = affine;
        } else if (scales) {
            rule.kind = LRP_NORM;
        }
    } else if ((op_node_has(node, OP_ACTIVATION) || op_node_has(node, OP_NORMALIZATION)) &&
               elements(g, node->inputs[0]) == elements(g, node->outputs[0])) {
        /* Relevance passes through them, as Zennit's base map passes it
         * through a BatchNorm. LRN divides each position by its neighbours'
         * squares, a rescaling that redistributes nothing; Zennit has no rule
         * for it and would take its gradient, which scales relevance by the
         * normalization and does not conserve it. */
        rule.kind = LRP_PASS;
    } else if (op_node_has(node, OP_AVERAGING)) {
        rule.kind = LRP_NORM;
    } else if (op_node_has(node, OP_SUM) && node->input_count >= 2) {
        int constant = 0;
        for (int i = 0; i < node->input_count; i++)
            constant |= node->inputs[i] < 0 || g->values[node->inputs[i]].constant != NULL;
        if (!constant) rule.kind = LRP_NORM;
    }
    return rule;
}

static int parse_numbers(const char *text, float *values, int wanted) {
    for (int k = 0; k < wanted; k++) {
        char *end;
        values[k] = strtof(text, &end);
        if (end == text || !isfinite(values[k])) return 0;
        text = end;
        while (isspace((unsigned char)*text)) text++;
        if (k + 1 < wanted) {
            if (*text != ',') return 0;
            text++;
        }
    }
    return *text == '\0';
}

/* A rule as a map writes it: epsilon[:E], gamma[:G], alpha-beta:A,B, zplus,
 * zbox[:LOW,HIGH], flat, wsquare, pass, norm, gradient. */
static illume_status parse_rule(illume_context *context, const illume_explain_options *o, const char *text,
                                lrp_rule *rule) {
    static const struct {
        const char *name;
        lrp_kind kind;
        int numbers; /* parameters after a colon: required (2), optional (1: one), none (0) */
    } kinds[] = {{"epsilon", LRP_EPSILON, 1}, {"gamma", LRP_GAMMA, 1}, {"alpha-beta", LRP_ALPHA_BETA, 2},
                 {"zplus", LRP_ZPLUS, 0},     {"zbox", LRP_ZBOX, 2},   {"flat", LRP_FLAT, 0},
                 {"wsquare", LRP_WSQUARE, 0}, {"pass", LRP_PASS, 0},   {"norm", LRP_NORM, 0},
                 {"gradient", LRP_GRADIENT, 0}};
    const char *colon = strchr(text, ':');
    size_t length = colon ? (size_t)(colon - text) : strlen(text);
    memset(rule, 0, sizeof *rule);
    rule->epsilon = o->stabilizer;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (strlen(kinds[k].name) != length || strncmp(text, kinds[k].name, length)) continue;
        rule->kind = kinds[k].kind;
        float numbers[2] = {0};
        int given = colon != NULL;
        if (given && (kinds[k].numbers == 0 || !parse_numbers(colon + 1, numbers, kinds[k].numbers)))
            return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "LRP rule '%s': %s", text,
                               kinds[k].numbers == 0   ? "takes no parameters"
                               : kinds[k].numbers == 1 ? "expects one number after the colon"
                                                       : "expects two numbers after the colon, as A,B");
        if (kinds[k].kind == LRP_EPSILON) rule->epsilon = given ? numbers[0] : o->epsilon;
        if (kinds[k].kind == LRP_GAMMA) rule->gamma = given ? numbers[0] : o->gamma;
        if (kinds[k].kind == LRP_ALPHA_BETA) {
            if (!given)
                return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "LRP rule alpha-beta needs alpha and beta, "
                                   "as alpha-beta:2,1");
            rule->alpha = numbers[0];
            rule->beta = numbers[1];
        }
        if (kinds[k].kind == LRP_ZBOX) {
            rule->low = given ? numbers[0] : o->low;
            rule->high = given ? numbers[1] : o->high;
            if (!isfinite(rule->low) || !isfinite(rule->high))
                return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "LRP rule zbox needs the input's bounds: "
                                   "zbox:LOW,HIGH, or --low and --high");
        }
        if (!(rule->epsilon >= 0.0f) || !(rule->gamma >= 0.0f))
            return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "LRP rule '%s': epsilon and gamma must not be "
                               "negative", text);
        return ILLUME_OK;
    }
    return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                       "unknown LRP rule '%s' (epsilon, gamma, alpha-beta, zplus, zbox, flat, wsquare, pass, norm, "
                       "gradient)", text);
}

static const composite *find_composite(const char *name) {
    for (size_t k = 0; k < sizeof composites / sizeof composites[0]; k++)
        if (!strcmp(composites[k].name, name)) return &composites[k];
    return NULL;
}

/* The keys of a rule map, from the least to the most specific. */
typedef enum map_key { KEY_KIND, KEY_FIRST, KEY_INDEX, KEY_NODE, KEY_CLASSES } map_key;

static int first_linear(const graph *g, int conv_only) {
    for (int n = 0; n < g->node_count; n++)
        if (linear_with_weights(g, &g->nodes[n]) && (!conv_only || is_conv(&g->nodes[n]))) return n;
    return -1;
}

/* Whether node n answers to a key of the given class. */
static int matches(const graph *g, int n, map_key class, const char *key, int64_t low, int64_t high) {
    const graph_node *node = &g->nodes[n];
    switch (class) {
    case KEY_KIND:
        if (!strcmp(key, "conv")) return linear_with_weights(g, node) && is_conv(node);
        if (!strcmp(key, "dense")) return linear_with_weights(g, node) && !is_conv(node);
        if (!strcmp(key, "add")) return op_node_has(node, OP_SUM);
        if (!strcmp(key, "avgpool")) return op_node_has(node, OP_AVERAGING);
        if (!strcmp(key, "maxpool")) return op_node_has(node, OP_MAX_POOLING);
        if (!strcmp(key, "activation")) return op_node_has(node, OP_ACTIVATION);
        if (!strcmp(key, "batchnorm")) return graph_node_is(node, "BatchNormalization");
        return 0;
    case KEY_FIRST: return n == first_linear(g, 0);
    case KEY_INDEX: return n >= low && n <= high;
    case KEY_NODE: return node->name && !strcmp(node->name, key);
    default: return 0;
    }
}

static illume_status classify_key(illume_context *context, const char *key, map_key *class, int64_t *low,
                                  int64_t *high) {
    static const char *const kinds[] = {"conv", "dense", "add", "avgpool", "maxpool", "activation", "batchnorm"};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (!strcmp(key, kinds[k])) return (*class = KEY_KIND), ILLUME_OK;
    if (!strcmp(key, "first")) return (*class = KEY_FIRST), ILLUME_OK;
    if (!strncmp(key, "node:", 5) && key[5]) return (*class = KEY_NODE), ILLUME_OK;
    if (!strncmp(key, "index:", 6)) {
        char *end;
        long long a = strtoll(key + 6, &end, 10), b = a;
        if (end != key + 6 && *end == '-') {
            const char *rest = end + 1;
            b = strtoll(rest, &end, 10);
            if (end == rest) end = (char *)rest - 1;
        }
        if (end != key + 6 && *end == '\0' && a >= 0 && b >= a) {
            *class = KEY_INDEX;
            *low = a;
            *high = b;
            return ILLUME_OK;
        }
    }
    return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                       "unknown LRP rule map key '%s' (first, conv, dense, add, avgpool, maxpool, activation, "
                       "batchnorm, node:NAME, index:A-B)", key);
}

static char *trim(char *text) {
    while (isspace((unsigned char)*text)) text++;
    size_t length = strlen(text);
    while (length && isspace((unsigned char)text[length - 1])) text[--length] = '\0';
    return text;
}

/* Applies a rule map ("KEY=RULE; KEY=RULE ...") one class of keys at a
 * time, so that a node name beats an index range, which beats the first
 * layer, which beats a layer kind, whatever their order; a layer kind leaves
 * the composite's first layer (first_node, or -1) its rule, as Zennit's
 * composites check their first-layer map first. */
static illume_status apply_map(illume_context *context, const illume_explain_options *o, const graph *g,
                               int first_node, lrp_rule *rules) {
    char *copy = strdup(o->rules);
    if (!copy) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status = ILLUME_OK;
    for (int class = KEY_KIND; class < KEY_CLASSES && status == ILLUME_OK; class++) {
        strcpy(copy, o->rules);
        char *save = NULL;
        for (char *entry = strtok_r(copy, ";", &save); entry && status == ILLUME_OK;
             entry = strtok_r(NULL, ";", &save)) {
            entry = trim(entry);
            if (!*entry) continue;
            char *equals = strchr(entry, '=');
            if (!equals) {
                status = illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                                     "LRP rule map entry '%s' is not KEY=RULE", entry);
                break;
            }
            *equals = '\0';
            char *key = trim(entry), *text = trim(equals + 1);
            map_key key_class;
            int64_t low = 0, high = -1;
            lrp_rule rule;
            status = classify_key(context, key, &key_class, &low, &high);
            if (status == ILLUME_OK) status = parse_rule(context, o, text, &rule);
            if (status != ILLUME_OK || (int)key_class != class) continue;
            int found = 0;
            for (int n = 0; n < g->node_count; n++) {
                if (!matches(g, n, key_class, key_class == KEY_NODE ? key + 5 : key, low, high)) continue;
                if (key_class == KEY_KIND && n == first_node) continue;
                rules[n] = rule;
                found = 1;
            }
            if (!found && key_class == KEY_NODE)
                status = illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "LRP rule map: the model has no node '%s'",
                                     key + 5);
            if (!found && key_class == KEY_FIRST)
                status = illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                                     "LRP rule map: the model has no linear node to be the first layer");
        }
    }
    free(copy);
    return status;
}

/* Every node's rule: the base rules, the composite's, then the rule map. */
static illume_status assign(illume_context *context, const illume_explain_options *o, const graph *g,
                            lrp_rule *rules) {
    const composite *chosen = find_composite(o->composite ? o->composite : "epsilon-plus-flat");
    if (!chosen) {
        char names[512] = "";
        for (size_t k = 0; k < sizeof composites / sizeof composites[0]; k++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "", composites[k].name);
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "unknown LRP composite '%s' (%s)", o->composite,
                           names);
    }
    lrp_rule conv, dense, first;
    ILLUME_TRY(parse_rule(context, o, chosen->conv, &conv));
    ILLUME_TRY(parse_rule(context, o, chosen->dense, &dense));
    if (chosen->first) ILLUME_TRY(parse_rule(context, o, chosen->first, &first));
    int first_node = chosen->first ? first_linear(g, chosen->first_conv_only) : -1;
    for (int n = 0; n < g->node_count; n++) {
        const graph_node *node = &g->nodes[n];
        rules[n] = base_rule(g, node, o->stabilizer);
        if (linear_with_weights(g, node)) rules[n] = is_conv(node) ? conv : dense;
        if (n == first_node) rules[n] = first;
    }
    if (o->rules && *o->rules) ILLUME_TRY(apply_map(context, o, g, first_node, rules));
    return ILLUME_OK;
}

static void describe_rule(const graph *g, const graph_node *node, const lrp_rule *rule, char *text, size_t size) {
    switch (rule->kind) {
    case LRP_EPSILON: snprintf(text, size, "epsilon:%g", rule->epsilon); break;
    case LRP_GAMMA: snprintf(text, size, "gamma:%g", rule->gamma); break;
    case LRP_ALPHA_BETA: snprintf(text, size, "alpha-beta:%g,%g", rule->alpha, rule->beta); break;
    case LRP_ZBOX: snprintf(text, size, "zbox:%g,%g", rule->low, rule->high); break;
    case LRP_GATE:
        snprintf(text, size, "%s (relevance to input %d)", affine_operand(g, node) >= 0 ? "pass" : "gate",
                 rule->operand);
        break;
    default: snprintf(text, size, "%s", lrp_kind_name(rule->kind)); break;
    }
}

static illume_status list_rules(illume_explainer *e, const graph *g, const lrp_rule *rules) {
    e->rule_entries = calloc((size_t)g->node_count + 1, sizeof(illume_rule_entry));
    e->rule_strings = calloc(2 * (size_t)g->node_count + 1, sizeof(char *));
    if (!e->rule_entries || !e->rule_strings) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    e->rule_count = g->node_count;
    for (int n = 0; n < g->node_count; n++) {
        illume_rule_entry *entry = &e->rule_entries[n];
        entry->index = n;
        e->rule_strings[2 * n] = strdup(g->nodes[n].name ? g->nodes[n].name : "");
        e->rule_strings[2 * n + 1] = strdup(op_name(&g->nodes[n]));
        if (!e->rule_strings[2 * n] || !e->rule_strings[2 * n + 1])
            return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        entry->node = e->rule_strings[2 * n];
        entry->op_type = e->rule_strings[2 * n + 1];
        describe_rule(g, &g->nodes[n], &rules[n], entry->rule, sizeof entry->rule);
        entry->conserves = rules[n].kind != LRP_ALPHA_BETA || rules[n].alpha - rules[n].beta == 1.0f;
    }
    return ILLUME_OK;
}

illume_status explain_lrp_rules(illume_explainer *e, illume_session *session) {
    const graph *g = session->graph;
    lrp_rule *rules = calloc((size_t)g->node_count + 1, sizeof(lrp_rule));
    if (!rules) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status = assign(e->context, &e->options, g, rules);
    if (status == ILLUME_OK) status = lrp_install(session, rules);
    if (status == ILLUME_OK && !e->rule_entries) status = list_rules(e, g, rules);
    free(rules);
    return status;
}

void explain_free_rules(illume_explainer *e) {
    for (int k = 0; e->rule_strings && k < 2 * e->rule_count; k++) free(e->rule_strings[k]);
    free(e->rule_strings);
    free(e->rule_entries);
    e->rule_strings = NULL;
    e->rule_entries = NULL;
    e->rule_count = 0;
}

int illume_explainer_rule(const illume_explainer *e, int index, illume_rule_entry *entry) {
    if (!e) return 0;
    if (index >= 0 && index < e->rule_count && entry) *entry = e->rule_entries[index];
    return e->rule_count;
}
