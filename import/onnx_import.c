#include "onnx_import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx.pb-c.h"
#include "op.h"
#include "tensor_data.h"

/* Name to value index, open addressing over a power-of-two table. */
typedef struct name_table {
    const char **names;
    int *indices;
    size_t capacity;
} name_table;

static uint64_t hash_name(const char *name) {
    uint64_t hash = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) hash = (hash ^ *p) * 1099511628211ull;
    return hash;
}

static int name_table_init(name_table *table, size_t expected) {
    table->capacity = 64;
    while (table->capacity < expected * 2) table->capacity *= 2;
    table->names = calloc(table->capacity, sizeof(char *));
    table->indices = calloc(table->capacity, sizeof(int));
    return table->names && table->indices ? 0 : -1;
}

static void name_table_free(name_table *table) {
    free(table->names);
    free(table->indices);
}

static int name_table_find(const name_table *table, const char *name) {
    size_t mask = table->capacity - 1;
    for (size_t slot = hash_name(name) & mask;; slot = (slot + 1) & mask) {
        if (!table->names[slot]) return -1;
        if (strcmp(table->names[slot], name) == 0) return table->indices[slot];
    }
}

/* The name must stay alive while the table does (it points into the graph). */
static void name_table_insert(name_table *table, const char *name, int index) {
    size_t mask = table->capacity - 1;
    size_t slot = hash_name(name) & mask;
    while (table->names[slot]) slot = (slot + 1) & mask;
    table->names[slot] = name;
    table->indices[slot] = index;
}

illume_status read_file(illume_context *context, const char *path, size_t limit, unsigned char **bytes,
                        size_t *size) {
    *bytes = NULL;
    *size = 0;
    FILE *file = fopen(path, "rb");
    if (!file) return illume_fail(context, ILLUME_ERROR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        return illume_fail(context, ILLUME_ERROR_IO, "'%s' is not a regular file", path);
    }
    if ((uint64_t)info.st_size > limit) {
        fclose(file);
        return illume_fail(context, ILLUME_ERROR_IO, "'%s' is %lld bytes, over the limit of %zu", path,
                           (long long)info.st_size, limit);
    }
    size_t length = (size_t)info.st_size;
    unsigned char *buffer = malloc(length ? length : 1);
    if (!buffer) {
        fclose(file);
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "cannot allocate %zu bytes for '%s'", length, path);
    }
    if (fread(buffer, 1, length, file) != length) {
        free(buffer);
        fclose(file);
        return illume_fail(context, ILLUME_ERROR_IO, "cannot read '%s'", path);
    }
    fclose(file);
    *bytes = buffer;
    *size = length;
    return ILLUME_OK;
}

typedef struct importer {
    illume_context *context;
    const char *base_directory;
    int permissive;
    import_problems *problems;
    graph *graph;
    name_table names;
} importer;

static illume_status out_of_memory(importer *im) {
    return illume_fail(im->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory while importing the model");
}

/* Refuses with status, or in permissive mode records, what the context's
 * message names: an unsupported feature, or a part the opset does not define. */
static illume_status problem(importer *im, int node, illume_status status) {
    if (!im->permissive) return status;
    import_problems *problems = im->problems;
    import_problem *grown = realloc(problems->items, sizeof *grown * (size_t)(problems->count + 1));
    if (!grown) return out_of_memory(im);
    problems->items = grown;
    grown[problems->count].node = node;
    grown[problems->count].message = strdup(im->context ? im->context->message : "unsupported");
    if (!grown[problems->count].message) return out_of_memory(im);
    problems->count++;
    return ILLUME_OK;
}

void import_problems_free(import_problems *problems) {
    for (int i = 0; i < problems->count; i++) free(problems->items[i].message);
    free(problems->items);
    problems->items = NULL;
    problems->count = 0;
}

static illume_status add_constant(importer *im, const char *name, decoded_tensor *tensor, int *index) {
    int v = graph_add_value(im->graph, name);
    if (v < 0) {
        free(tensor->data);
        return out_of_memory(im);
    }
    graph_value *value = &im->graph->values[v];
    value->dtype = tensor->dtype;
    value->rank = tensor->rank;
    memcpy(value->dims, tensor->dims, sizeof value->dims);
    value->constant = tensor->data;
    value->owns_constant = 1;
    *index = v;
    return ILLUME_OK;
}

/* Registers a new value name; every name may be defined once. */
static illume_status define_name(importer *im, const char *name, const char *what, int *index) {
    if (!name || !name[0])
        return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "%s has an empty name", what);
    if (name_table_find(&im->names, name) >= 0)
        return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "value '%s' is defined more than once (%s)", name,
                           what);
    int v = graph_add_value(im->graph, name);
    if (v < 0) return out_of_memory(im);
    name_table_insert(&im->names, im->graph->values[v].name, v);
    *index = v;
    return ILLUME_OK;
}

static illume_status import_initializers(importer *im, const Onnx__GraphProto *proto) {
    if (proto->n_sparse_initializer) {
        illume_fail(im->context, ILLUME_ERROR_UNSUPPORTED, "sparse initializers are not supported");
        ILLUME_TRY(problem(im, -1, ILLUME_ERROR_UNSUPPORTED));
    }
    for (size_t i = 0; i < proto->n_initializer; i++) {
        Onnx__TensorProto *tensor = proto->initializer[i];
        const char *name = tensor->name ? tensor->name : "";
        char what[256];
        snprintf(what, sizeof what, "initializer '%.200s'", name);
        if (!name[0]) return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "initializer %zu has no name", i);
        if (name_table_find(&im->names, name) >= 0)
            return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "initializer '%s' is defined more than once",
                               name);
        decoded_tensor decoded;
        ILLUME_TRY(tensor_data_decode(im->context, tensor, im->base_directory, what, &decoded));
        int v = -1;
        ILLUME_TRY(add_constant(im, name, &decoded, &v));
        name_table_insert(&im->names, im->graph->values[v].name, v);
    }
    return ILLUME_OK;
}

/* The element type and shape a ValueInfo declares, symbolic dimensions by name. */
static illume_status read_declared_type(importer *im, const Onnx__ValueInfoProto *info, graph_value *value,
                                        const char *role) {
    const char *name = value->name;
    const Onnx__TypeProto *type = info->type;
    if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !type->tensor_type)
        return illume_fail(im->context, ILLUME_ERROR_UNSUPPORTED, "%s '%s' is not a tensor", role, name);
    const Onnx__TypeProto__Tensor *tensor = type->tensor_type;
    if (!tensor_data_dtype(tensor->elem_type, &value->dtype))
        return illume_fail(im->context, ILLUME_ERROR_UNSUPPORTED, "%s '%s' has element type %s", role, name,
                           tensor_data_type_name(tensor->elem_type));
    if (!tensor->shape) return ILLUME_OK;
    if (tensor->shape->n_dim > ILLUME_MAX_RANK)
        return illume_fail(im->context, ILLUME_ERROR_UNSUPPORTED, "%s '%s' has rank %zu, over %d", role, name,
                           tensor->shape->n_dim, ILLUME_MAX_RANK);
    value->rank = (int)tensor->shape->n_dim;
    for (size_t d = 0; d < tensor->shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tensor->shape->dim[d];
        value->dims[d] = -1;
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dim->dim_value < 0)
                return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "%s '%s' has negative dimension %lld",
                                   role, name, (long long)dim->dim_value);
            value->dims[d] = dim->dim_value;
        } else if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param) {
            free(value->dim_names[d]);
            value->dim_names[d] = strdup(dim->dim_param);
            if (!value->dim_names[d]) return out_of_memory(im);
        }
    }
    int64_t extent;
    if (shape_extent(value->rank, value->dims, &extent))
        return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL,
                           "%s '%s' of shape %s is too large: its dimensions, zeros left out, multiply past 2^60 - 1",
                           role, name, shape_format(value->rank, value->dims, (char[256]){0}, 256));
    return ILLUME_OK;
}

static illume_status import_inputs(importer *im, const Onnx__GraphProto *proto) {
    im->graph->inputs = malloc(sizeof(int) * (proto->n_input + 1));
    if (!im->graph->inputs) return out_of_memory(im);
    for (size_t i = 0; i < proto->n_input; i++) {
        const Onnx__ValueInfoProto *info = proto->input[i];
        const char *name = info->name ? info->name : "";
        int existing = name_table_find(&im->names, name);
        if (existing >= 0 && im->graph->values[existing].constant) continue; /* an initializer listed as input */
        char what[256];
        snprintf(what, sizeof what, "graph input %zu", i);
        int v = -1;
        ILLUME_TRY(define_name(im, name, what, &v));
        graph_value *value = &im->graph->values[v];
        value->is_graph_input = 1;
        ILLUME_TRY(read_declared_type(im, info, value, "graph input"));
        im->graph->inputs[im->graph->input_count++] = v;
    }
    return ILLUME_OK;
}

static graph_attribute_type attribute_type(const Onnx__AttributeProto *proto) {
    int type = proto->has_type ? (int)proto->type : 0;
    if (!type) { /* models older than IR 3 leave the type out */
        if (proto->n_floats) return ATTRIBUTE_FLOATS;
        if (proto->n_ints) return ATTRIBUTE_INTS;
        if (proto->n_strings) return ATTRIBUTE_STRINGS;
        if (proto->has_f) return ATTRIBUTE_FLOAT;
        if (proto->has_i) return ATTRIBUTE_INT;
        if (proto->has_s) return ATTRIBUTE_STRING;
        if (proto->t) return ATTRIBUTE_TENSOR;
        return ATTRIBUTE_OTHER;
    }
    switch (type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return ATTRIBUTE_FLOAT;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return ATTRIBUTE_INT;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return ATTRIBUTE_STRING;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return ATTRIBUTE_FLOATS;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return ATTRIBUTE_INTS;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return ATTRIBUTE_STRINGS;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return ATTRIBUTE_TENSOR;
    default: return ATTRIBUTE_OTHER;
    }
}

static illume_status import_attribute(importer *im, const Onnx__NodeProto *proto_node, const Onnx__AttributeProto *proto,
                                      graph_attribute *attribute) {
    memset(attribute, 0, sizeof *attribute);
    attribute->tensor = -1;
    attribute->name = strdup(proto->name ? proto->name : "");
    if (!attribute->name) return out_of_memory(im);
    attribute->type = attribute_type(proto);
    switch (attribute->type) {
    case ATTRIBUTE_FLOAT: attribute->f = proto->f; break;
    case ATTRIBUTE_INT: attribute->i = proto->i; break;
    case ATTRIBUTE_STRING:
        attribute->s = malloc(proto->s.len + 1);
        if (!attribute->s) return out_of_memory(im);
        if (proto->s.len) memcpy(attribute->s, proto->s.data, proto->s.len);
        attribute->s[proto->s.len] = '\0';
        break;
    case ATTRIBUTE_FLOATS:
        attribute->count = (int)proto->n_floats;
        attribute->floats = malloc(sizeof(float) * (proto->n_floats + 1));
        if (!attribute->floats) return out_of_memory(im);
        if (proto->n_floats) memcpy(attribute->floats, proto->floats, sizeof(float) * proto->n_floats);
        break;
    case ATTRIBUTE_INTS:
        attribute->count = (int)proto->n_ints;
        attribute->ints = malloc(sizeof(int64_t) * (proto->n_ints + 1));
        if (!attribute->ints) return out_of_memory(im);
        if (proto->n_ints) memcpy(attribute->ints, proto->ints, sizeof(int64_t) * proto->n_ints);
        break;
    case ATTRIBUTE_STRINGS: attribute->count = (int)proto->n_strings; break;
    case ATTRIBUTE_TENSOR: {
        if (!proto->t)
            return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "node '%s': attribute '%s' has no tensor",
                               proto_node->name ? proto_node->name : "", attribute->name);
        char what[256];
        snprintf(what, sizeof what, "node '%.100s' attribute '%.100s'", proto_node->name ? proto_node->name : "",
                 attribute->name);
        decoded_tensor decoded;
        ILLUME_TRY(tensor_data_decode(im->context, proto->t, im->base_directory, what, &decoded));
        int v = -1;
        ILLUME_TRY(add_constant(im, "", &decoded, &v));
        attribute->tensor = v;
        break;
    }
    default: break;
    }
    return ILLUME_OK;
}

const op_attribute onnx_constant_attributes[] = {
    {"value", ATTRIBUTE_TENSOR, 0, 0}, {"value_float", ATTRIBUTE_FLOAT, 12, 0}, {"value_int", ATTRIBUTE_INT, 12, 0},
    {"value_floats", ATTRIBUTE_FLOATS, 12, 0}, {"value_ints", ATTRIBUTE_INTS, 12, 0}, {NULL, 0, 0, 0}};

static const op_attribute *constant_attribute(const char *name) {
    for (const op_attribute *known = onnx_constant_attributes; known->name; known++)
        if (strcmp(known->name, name) == 0) return known;
    return NULL;
}

/* Refuses a Constant node's attribute that the model's opset does not define. */
static illume_status check_constant_opset(importer *im, const graph_node *node) {
    for (int a = 0; a < node->attribute_count; a++) {
        const op_attribute *known = constant_attribute(node->attributes[a].name);
        if (!known || op_opset_within(im->graph->opset, known->since, known->until)) continue;
        char range[64];
        op_opset_range_text(known->since, known->until, range, sizeof range);
        return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL,
                           "node '%s' (Constant): attribute '%s' exists %s, and the model's opset is %d", node->name,
                           known->name, range, im->graph->opset);
    }
    return ILLUME_OK;
}

/* The value a Constant node's attribute holds, as a new constant value. */
static illume_status constant_node_value(importer *im, const Onnx__NodeProto *proto, graph_node *node, int *index) {
    const char *name = proto->name ? proto->name : "";
    if (node->attribute_count != 1)
        return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "node '%s' (Constant): needs exactly one attribute",
                           name);
    const graph_attribute *attribute = &node->attributes[0];
    const op_attribute *known = constant_attribute(attribute->name);
    if (!known || known->type != attribute->type)
        return illume_fail(im->context, ILLUME_ERROR_UNSUPPORTED,
                           "node '%s' (Constant): attribute '%s' is not supported", name, attribute->name);
    if (attribute->type == ATTRIBUTE_TENSOR) {
        *index = attribute->tensor;
        return ILLUME_OK;
    }
    int is_list = attribute->type == ATTRIBUTE_FLOATS || attribute->type == ATTRIBUTE_INTS;
    int count = is_list ? attribute->count : 1;
    decoded_tensor decoded;
    memset(&decoded, 0, sizeof decoded);
    decoded.dtype = attribute->type == ATTRIBUTE_FLOAT || attribute->type == ATTRIBUTE_FLOATS ? ILLUME_FLOAT32
                                                                                               : ILLUME_INT64;
    decoded.rank = is_list ? 1 : 0;
    decoded.dims[0] = count;
    decoded.data = malloc(sizeof(int64_t) * (size_t)(count + 1));
    if (!decoded.data) return out_of_memory(im);
    for (int i = 0; i < count; i++) {
        if (decoded.dtype == ILLUME_FLOAT32)
            ((float *)decoded.data)[i] = is_list ? attribute->floats[i] : attribute->f;
        else
            ((int64_t *)decoded.data)[i] = is_list ? attribute->ints[i] : attribute->i;
    }
    return add_constant(im, "", &decoded, index);
}

/* Renames a constant value to the node's output name and registers it. */
static illume_status bind_constant_output(importer *im, const Onnx__NodeProto *proto, int constant) {
    const char *output = proto->n_output ? proto->output[0] : NULL;
    if (!output || !output[0])
        return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "node '%s' (Constant) has no output",
                           proto->name ? proto->name : "");
    if (name_table_find(&im->names, output) >= 0)
        return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "value '%s' is defined more than once", output);
    graph_value *value = &im->graph->values[constant];
    char *name = strdup(output);
    if (!name) return out_of_memory(im);
    free(value->name);
    value->name = name;
    name_table_insert(&im->names, value->name, constant);
    return ILLUME_OK;
}

static int default_domain(const char *domain) { return !domain || !domain[0] || strcmp(domain, "ai.onnx") == 0; }

static illume_status import_node(importer *im, const Onnx__NodeProto *proto, size_t position) {
    const char *op_type = proto->op_type ? proto->op_type : "";
    char fallback_name[64];
    const char *name = proto->name && proto->name[0] ? proto->name : NULL;
    if (!name) {
        snprintf(fallback_name, sizeof fallback_name, "#%zu", position);
        name = fallback_name;
    }
    if (proto->n_input > 1024 || proto->n_output > 1024)
        return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "node '%s' (%s) has too many inputs or outputs",
                           name, op_type);
    int op = default_domain(proto->domain) ? op_find(op_type) : -1;
    int n = graph_add_node(im->graph, name, op, (int)proto->n_input, (int)proto->n_output);
    if (n < 0) return out_of_memory(im);
    graph_node *node = &im->graph->nodes[n];
    node->op_type = strdup(op_type);
    if (!node->op_type) return out_of_memory(im);
    if (proto->n_attribute) {
        node->attributes = calloc(proto->n_attribute, sizeof(graph_attribute));
        if (!node->attributes) return out_of_memory(im);
        for (size_t a = 0; a < proto->n_attribute; a++) {
            node->attribute_count = (int)a + 1;
            ILLUME_TRY(import_attribute(im, proto, proto->attribute[a], &node->attributes[a]));
        }
    }
    if (default_domain(proto->domain) && strcmp(op_type, "Constant") == 0) {
        illume_status status = check_constant_opset(im, node);
        if (status == ILLUME_OK) {
            int constant = -1;
            status = constant_node_value(im, proto, node, &constant);
            if (status == ILLUME_OK) {
                ILLUME_TRY(bind_constant_output(im, proto, constant));
                node->op = -2; /* consumed: removed after import */
                return ILLUME_OK;
            }
            if (status != ILLUME_ERROR_UNSUPPORTED) return status;
        }
        node->op = -1;
        ILLUME_TRY(problem(im, n, status));
    } else if (op < 0) {
        if (!default_domain(proto->domain))
            illume_fail(im->context, ILLUME_ERROR_UNSUPPORTED, "node '%s' (%s): domain '%s' is not supported", name,
                        op_type, proto->domain);
        else
            illume_fail(im->context, ILLUME_ERROR_UNSUPPORTED, "node '%s' (%s): op %s is not supported", name, op_type,
                        op_type);
        ILLUME_TRY(problem(im, n, ILLUME_ERROR_UNSUPPORTED));
    }
    for (size_t o = 0; o < proto->n_output; o++) {
        const char *output = proto->output[o];
        if (!output || !output[0]) continue;
        char what[256];
        snprintf(what, sizeof what, "output %zu of node '%.200s'", o, name);
        int v = -1;
        ILLUME_TRY(define_name(im, output, what, &v));
        node = &im->graph->nodes[n];
        node->outputs[o] = v;
        im->graph->values[v].producer = n;
    }
    return ILLUME_OK;
}

static illume_status resolve_inputs(importer *im, const Onnx__GraphProto *proto) {
    for (int n = 0; n < im->graph->node_count; n++) {
        graph_node *node = &im->graph->nodes[n];
        if (node->op == -2) continue;
        const Onnx__NodeProto *p = proto->node[n];
        for (size_t i = 0; i < p->n_input; i++) {
            const char *input = p->input[i];
            if (!input || !input[0]) continue;
            int v = name_table_find(&im->names, input);
            if (v < 0)
                return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL,
                                   "node '%s' (%s): input '%s' is not produced by any node, initializer or graph input",
                                   node->name, p->op_type ? p->op_type : "", input);
            node->inputs[i] = v;
        }
    }
    return ILLUME_OK;
}

/* Orders the nodes so that every producer comes before its consumers
 * (Kahn's algorithm), dropping consumed Constant nodes; refuses cycles. */
static illume_status sort_nodes(importer *im) {
    graph *g = im->graph;
    int count = g->node_count;
    int *pending = calloc((size_t)count + 1, sizeof(int));
    int *order = malloc(sizeof(int) * ((size_t)count + 1));
    int *first_consumer = malloc(sizeof(int) * ((size_t)g->value_count + 1));
    int *edge_count = calloc((size_t)g->value_count + 1, sizeof(int));
    int *edges = NULL;
    graph_node *sorted = NULL;
    illume_status status = ILLUME_OK;
    if (!pending || !order || !first_consumer || !edge_count) {
        status = out_of_memory(im);
        goto done;
    }
    /* Consumers of each value, in a compressed list. */
    int total = 0;
    for (int n = 0; n < count; n++)
        for (int i = 0; i < g->nodes[n].input_count; i++)
            if (g->nodes[n].inputs[i] >= 0) {
                edge_count[g->nodes[n].inputs[i]]++;
                total++;
            }
    edges = malloc(sizeof(int) * ((size_t)total + 1));
    if (!edges) {
        status = out_of_memory(im);
        goto done;
    }
    int offset = 0;
    for (int v = 0; v < g->value_count; v++) {
        first_consumer[v] = offset;
        offset += edge_count[v];
        edge_count[v] = 0;
    }
    for (int n = 0; n < count; n++)
        for (int i = 0; i < g->nodes[n].input_count; i++) {
            int v = g->nodes[n].inputs[i];
            if (v < 0) continue;
            edges[first_consumer[v] + edge_count[v]++] = n;
            if (g->values[v].producer >= 0) pending[n]++;
        }
    int head = 0, tail = 0;
    for (int n = 0; n < count; n++)
        if (pending[n] == 0) order[tail++] = n;
    while (head < tail) {
        int n = order[head++];
        for (int o = 0; o < g->nodes[n].output_count; o++) {
            int v = g->nodes[n].outputs[o];
            if (v < 0) continue;
            for (int e = 0; e < edge_count[v]; e++)
                if (--pending[edges[first_consumer[v] + e]] == 0) order[tail++] = edges[first_consumer[v] + e];
        }
    }
    if (tail != count) {
        for (int n = 0; n < count; n++)
            if (pending[n] > 0) {
                status = illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL,
                                     "the graph has a cycle through node '%s'", g->nodes[n].name);
                break;
            }
        goto done;
    }
    sorted = malloc(sizeof(graph_node) * ((size_t)count + 1));
    int *new_index = pending; /* reused: old node index to new */
    if (!sorted) {
        status = out_of_memory(im);
        goto done;
    }
    int kept = 0;
    for (int k = 0; k < count; k++) {
        graph_node *node = &g->nodes[order[k]];
        if (node->op == -2) {
            graph_node_release(node);
            new_index[order[k]] = -1;
            continue;
        }
        new_index[order[k]] = kept;
        sorted[kept++] = *node;
    }
    for (int v = 0; v < g->value_count; v++)
        if (g->values[v].producer >= 0) g->values[v].producer = new_index[g->values[v].producer];
    free(g->nodes);
    g->nodes = sorted;
    g->node_count = kept;
    g->node_capacity = count + 1;
    sorted = NULL;
done:
    free(pending);
    free(order);
    free(first_consumer);
    free(edge_count);
    free(edges);
    free(sorted);
    return status;
}

static illume_status import_outputs(importer *im, const Onnx__GraphProto *proto) {
    graph *g = im->graph;
    if (proto->n_output == 0)
        return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "the graph has no outputs");
    g->outputs = malloc(sizeof(int) * proto->n_output);
    g->output_names = calloc(proto->n_output, sizeof(char *));
    if (!g->outputs || !g->output_names) return out_of_memory(im);
    for (size_t o = 0; o < proto->n_output; o++) {
        const char *name = proto->output[o]->name ? proto->output[o]->name : "";
        int v = name_table_find(&im->names, name);
        if (v < 0)
            return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "graph output '%s' is never produced", name);
        g->outputs[o] = v;
        g->output_names[o] = strdup(name);
        g->output_count = (int)o + 1;
        if (!g->output_names[o]) return out_of_memory(im);
        g->values[v].is_graph_output = 1;
        /* What the model declares, for illume info; inference sets the real shape. A
         * declaration illume cannot read says nothing it needs. */
        graph_value *value = &g->values[v];
        if (!value->constant && value->rank < 0 && proto->output[o]->type &&
            read_declared_type(im, proto->output[o], value, "graph output") != ILLUME_OK) {
            value->rank = -1;
            value->dtype = ILLUME_FLOAT32;
        }
    }
    return ILLUME_OK;
}

static illume_status read_opset(importer *im, const Onnx__ModelProto *proto) {
    int64_t opset = -1;
    for (size_t i = 0; i < proto->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *entry = proto->opset_import[i];
        if (default_domain(entry->domain)) opset = entry->has_version ? entry->version : -1;
    }
    if (opset < 0 && proto->n_opset_import == 0) opset = 1; /* IR versions before 3 imply opset 1 */
    im->graph->opset = opset > 1000 ? 1000 : (int)opset;
    if (opset < ONNX_MIN_OPSET || opset > ONNX_MAX_OPSET) {
        illume_fail(im->context, ILLUME_ERROR_UNSUPPORTED,
                    "the model uses opset %lld of the default domain; illume supports opsets %d to %d",
                    (long long)opset, ONNX_MIN_OPSET, ONNX_MAX_OPSET);
        return problem(im, -1, ILLUME_ERROR_UNSUPPORTED);
    }
    return ILLUME_OK;
}

static illume_status validate_nodes(importer *im) {
    for (int n = 0; n < im->graph->node_count; n++) {
        const graph_node *node = &im->graph->nodes[n];
        if (node->op < 0) continue;
        illume_status status = op_validate_opset(im->context, im->graph, node);
        if (status != ILLUME_OK) {
            ILLUME_TRY(problem(im, n, status));
            continue;
        }
        status = op_validate_node(im->context, im->graph, node);
        if (status == ILLUME_ERROR_UNSUPPORTED) {
            ILLUME_TRY(problem(im, n, status));
        } else if (status != ILLUME_OK) {
            return status;
        }
    }
    return ILLUME_OK;
}

static illume_status import_model(importer *im, const Onnx__ModelProto *proto) {
    if (!proto->graph) return illume_fail(im->context, ILLUME_ERROR_INVALID_MODEL, "the model has no graph");
    const Onnx__GraphProto *graph_proto = proto->graph;
    im->graph->ir_version = proto->has_ir_version ? proto->ir_version : 0;
    if (proto->producer_name) {
        im->graph->producer = strdup(proto->producer_name);
        if (!im->graph->producer) return out_of_memory(im);
    }
    size_t expected = graph_proto->n_initializer + graph_proto->n_input;
    for (size_t n = 0; n < graph_proto->n_node; n++) expected += graph_proto->node[n]->n_output;
    if (name_table_init(&im->names, expected + 16)) return out_of_memory(im);
    ILLUME_TRY(read_opset(im, proto));
    ILLUME_TRY(import_initializers(im, graph_proto));
    ILLUME_TRY(import_inputs(im, graph_proto));
    for (size_t n = 0; n < graph_proto->n_node; n++) ILLUME_TRY(import_node(im, graph_proto->node[n], n));
    ILLUME_TRY(resolve_inputs(im, graph_proto));
    ILLUME_TRY(import_outputs(im, graph_proto));
    ILLUME_TRY(sort_nodes(im));
    ILLUME_TRY(validate_nodes(im));
    return ILLUME_OK;
}

illume_status onnx_import(illume_context *context, const void *bytes, size_t size, const char *base_directory,
                          int permissive, graph **graph, import_problems *problems) {
    *graph = NULL;
    memset(problems, 0, sizeof *problems);
    if (context) context->message[0] = '\0';
    Onnx__ModelProto *proto = onnx__model_proto__unpack(NULL, size, bytes);
    if (!proto)
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL,
                           "not a valid ONNX model: the protobuf could not be decoded (%zu bytes)", size);
    importer im;
    memset(&im, 0, sizeof im);
    im.context = context;
    im.base_directory = base_directory;
    im.permissive = permissive;
    im.problems = problems;
    im.graph = graph_create();
    illume_status status = im.graph ? import_model(&im, proto) : out_of_memory(&im);
    name_table_free(&im.names);
    onnx__model_proto__free_unpacked(proto, NULL);
    if (status != ILLUME_OK) {
        graph_free(im.graph);
        import_problems_free(problems);
        return status;
    }
    *graph = im.graph;
    return ILLUME_OK;
}
