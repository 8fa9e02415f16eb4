/*
 * event-transform: shared declarations.
 *
 * The accepted input is a documented subset of JSON (see README.md); the
 * Python reference (workloads/reference_transform.py) implements the very same
 * rules, so both must change together.
 */
#ifndef VYR_EVENT_H
#define VYR_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define MAX_LINE_BYTES 65536
#define MAX_DEVICE_ID_BYTES 64
#define MAX_SITE_BYTES 128
/* 9999-12-31T23:59:59.999Z */
#define MAX_TS_MS INT64_C(253402300799999)
/* Integer timestamps below this are unix seconds, at or above it unix ms. */
#define SECONDS_MS_CUTOFF INT64_C(100000000000)

enum quantity { Q_TEMPERATURE, Q_PRESSURE, Q_HUMIDITY, Q_COUNT };

extern const char *const QUANTITY_NAMES[Q_COUNT];
extern const char *const CANONICAL_UNITS[Q_COUNT];

typedef struct {
    char device[MAX_DEVICE_ID_BYTES + 1];
    int64_t ts_ms;
    double value; /* already converted to CANONICAL_UNITS[quantity] */
    enum quantity quantity;
} Event;

/* Parses one line (without its '\n'); returns 0, or -1 when malformed. */
int parse_event(const char *line, size_t len, Event *out);

int is_device_id(const char *text, size_t len);
int is_json_number(const char *text, size_t len);
/* strtod of a validated token that is not NUL-terminated. */
double token_to_double(const char *text, size_t len);
/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" and a NUL into out (25 bytes). */
void format_rfc3339_ms(int64_t ms, char out[25]);

typedef struct {
    const char *site;
    enum quantity kind;
    double min, max;
} Device;

/* Loads <dir>/devices.tsv; returns 0, or -1 after printing why to stderr. */
int lookup_load(const char *dir);
const Device *lookup_find(const char *device_id, size_t len);

#endif
