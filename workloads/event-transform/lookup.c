/*
 * The device table: <dir>/devices.tsv, read once at start-up into an
 * open-addressing hash table keyed by device id.
 *
 * Format: one device per line, five TAB-separated fields
 *   device_id  site  kind  min  max
 * kind is temperature|pressure|humidity; min/max bound the accepted value in
 * the kind's canonical unit (C, kPa, %). Blank lines and lines starting with
 * '#' are ignored; a trailing '\r' is dropped. Any other deviation is fatal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

typedef struct {
    char *id; /* NULL marks an empty slot */
    Device device;
} Slot;

static Slot *slots;
static size_t slot_mask;

static uint64_t fnv1a(const char *text, size_t len) {
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)text[i]) * UINT64_C(1099511628211);
    return h;
}

static Slot *probe(const char *id, size_t len) {
    for (size_t i = fnv1a(id, len) & slot_mask;; i = (i + 1) & slot_mask)
        if (!slots[i].id || (strlen(slots[i].id) == len && !memcmp(slots[i].id, id, len)))
            return &slots[i];
}

const Device *lookup_find(const char *device_id, size_t len) {
    Slot *slot = probe(device_id, len);
    return slot->id ? &slot->device : NULL;
}

static char *read_file(const char *path, size_t *len_out) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    size_t cap = 1 << 16, len = 0, got;
    char *data = malloc(cap + 1);
    while (data && (got = fread(data + len, 1, cap - len, file)) > 0) {
        len += got;
        if (len == cap) data = realloc(data, (cap *= 2) + 1);
    }
    if (!data || ferror(file)) { free(data); data = NULL; }
    fclose(file);
    *len_out = len;
    return data;
}

static int is_site(const char *text, size_t len) {
    if (len == 0 || len > MAX_SITE_BYTES) return 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] < 0x20 || text[i] > 0x7e || text[i] == '"' || text[i] == '\\') return 0;
    return 1;
}

/* Splits line on TABs into exactly 5 fields, NUL-terminating each in place. */
static int split_fields(char *line, char *fields[5], size_t lens[5]) {
    int count = 0;
    for (char *p = line;; p++) {
        if (*p != '\t' && *p != '\0') continue;
        if (count == 5) return -1;
        fields[count] = line;
        lens[count++] = (size_t)(p - line);
        int end = *p == '\0';
        *p = '\0';
        if (end) break;
        line = p + 1;
    }
    return count == 5 ? 0 : -1;
}

static int parse_row(char *line, int line_no, size_t *count) {
    char *f[5];
    size_t n[5];
    const char *problem = NULL;
    int kind = -1;
    if (split_fields(line, f, n)) problem = "expected 5 TAB-separated fields";
    else if (!is_device_id(f[0], n[0])) problem = "bad device id";
    else if (!is_site(f[1], n[1])) problem = "bad site";
    for (int k = 0; !problem && k < Q_COUNT; k++)
        if (!strcmp(f[2], QUANTITY_NAMES[k])) kind = k;
    if (!problem && kind < 0) problem = "unknown kind";
    if (!problem && (!is_json_number(f[3], n[3]) || !is_json_number(f[4], n[4])))
        problem = "min/max must be numbers";
    double min = problem ? 0 : token_to_double(f[3], n[3]);
    double max = problem ? 0 : token_to_double(f[4], n[4]);
    if (!problem && !(min <= max)) problem = "min > max";
    Slot *slot = problem ? NULL : probe(f[0], n[0]);
    if (slot && slot->id) problem = "duplicate device id";
    if (problem) {
        fprintf(stderr, "event-transform: error: devices.tsv line %d: %s\n", line_no, problem);
        return -1;
    }
    slot->id = strdup(f[0]);
    slot->device.site = strdup(f[1]);
    slot->device.kind = (enum quantity)kind;
    slot->device.min = min;
    slot->device.max = max;
    (*count)++;
    return 0;
}

int lookup_load(const char *dir) {
    char path[4096];
    size_t len;
    snprintf(path, sizeof path, "%s/devices.tsv", dir);
    char *data = read_file(path, &len);
    if (!data) {
        fprintf(stderr, "event-transform: error: cannot read %s\n", path);
        return -1;
    }
    data[len] = '\0';
    if (memchr(data, '\0', len)) {
        fprintf(stderr, "event-transform: error: devices.tsv contains a NUL byte\n");
        return -1;
    }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    size_t capacity = 16;
    while (capacity < 2 * lines) capacity *= 2; /* load factor <= 1/2 */
    slots = calloc(capacity, sizeof *slots);
    slot_mask = capacity - 1;
    if (!slots) return -1;
    size_t count = 0;
    int line_no = 0;
    for (char *line = data; line; ) {
        char *newline = strchr(line, '\n');
        if (newline) *newline = '\0';
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
        line_no++;
        if (n > 0 && line[0] != '#' && parse_row(line, line_no, &count)) return -1;
        line = newline ? newline + 1 : NULL;
    }
    free(data);
    return 0;
}
