/*
 * event-transform: NDJSON sensor events in, validated + normalised + enriched
 * NDJSON out. See README.md for the exact contract.
 *
 *   argv[1]  state name of the read-only device table (default "lookup"),
 *            read from /state/<name>/devices.tsv; a value containing '/' is
 *            taken as the directory itself (for native runs).
 *   stdin    one JSON object per line
 *   stdout   one JSON object per accepted event, fixed key order
 *   stderr   one JSON summary line
 *   exit     0; 2 on a usage or device-table error; 1 on an I/O error
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

typedef struct {
    unsigned long long in, out, malformed, unknown_device, kind_mismatch, out_of_range;
} Counts;

static int is_blank(const char *line, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') return 0;
    return 1;
}

static int valid_state_name(const char *name) {
    if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-' || *c == '.'))
            return 0;
    return 1;
}

static void write_event(const Event *event, const Device *device) {
    char time[25], value[64];
    format_rfc3339_ms(event->ts_ms, time);
    snprintf(value, sizeof value, "%.3f", event->value);
    /* Fixed decimals can still print a negative zero; the canonical form drops the sign. */
    const char *shown = strcmp(value, "-0.000") ? value : "0.000";
    printf("{\"device\":\"%s\",\"site\":\"%s\",\"kind\":\"%s\",\"ts_ms\":%lld,\"time\":\"%s\","
           "\"value\":%s,\"unit\":\"%s\"}\n",
           event->device, device->site, QUANTITY_NAMES[device->kind], (long long)event->ts_ms, time,
           shown, CANONICAL_UNITS[event->quantity]);
}

static void process_line(const char *line, size_t len, Counts *counts) {
    Event event;
    if (len <= MAX_LINE_BYTES && is_blank(line, len)) return;
    counts->in++;
    if (len > MAX_LINE_BYTES || parse_event(line, len, &event)) {
        counts->malformed++;
        return;
    }
    const Device *device = lookup_find(event.device, strlen(event.device));
    if (!device) counts->unknown_device++;
    else if (device->kind != event.quantity) counts->kind_mismatch++;
    else if (!(event.value >= device->min && event.value <= device->max)) counts->out_of_range++;
    else {
        counts->out++;
        write_event(&event, device);
    }
}

int main(int argc, char **argv) {
    const char *state = argc > 1 ? argv[1] : "lookup";
    char dir[4096];
    if (argc > 2 || (!strchr(state, '/') && !valid_state_name(state))) {
        fprintf(stderr, "usage: event-transform [STATE_NAME|DIR]  (default state: lookup)\n");
        return 2;
    }
    snprintf(dir, sizeof dir, strchr(state, '/') ? "%s" : "/state/%s", state);
    if (lookup_load(dir)) return 2;

    static char out_buffer[1 << 16];
    setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
    Counts counts = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)got;
        if (len > 0 && line[len - 1] == '\n') len--;
        process_line(line, len, &counts);
    }
    free(line);
    if (ferror(stdin) || fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "event-transform: error: I/O failure\n");
        return 1;
    }
    unsigned long long dropped = counts.unknown_device + counts.kind_mismatch + counts.out_of_range;
    fprintf(stderr,
            "{\"in\":%llu,\"out\":%llu,\"dropped\":%llu,\"malformed\":%llu,"
            "\"unknown_device\":%llu,\"kind_mismatch\":%llu,\"out_of_range\":%llu}\n",
            counts.in, counts.out, dropped, counts.malformed, counts.unknown_device,
            counts.kind_mismatch, counts.out_of_range);
    return 0;
}
