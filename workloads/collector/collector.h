/*
 * collector: shared declarations. The batch format is specified in README.md
 * and decoded by decode.py; keep the three in step.
 */
#ifndef VYR_COLLECTOR_H
#define VYR_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#define MAX_DEVICE_ID_BYTES 64
#define BATCH_HEADER_BYTES 24

/* Exit codes (sysexits-style). */
enum { EXIT_USAGE = 2, EXIT_BAD_INPUT = 65, EXIT_CORRUPT_STATE = 70, EXIT_IO = 74 };

typedef struct {
    uint64_t id;
    char device[MAX_DEVICE_ID_BYTES + 1];
    int64_t ts_ms;
    int64_t value_milli;
} Reading;

/* "id,device,ts_ms,value" without the newline; returns 0, or -1 when malformed. */
int parse_reading(const char *line, size_t len, Reading *out);

/* A growable byte buffer; on allocation failure the program exits (EXIT_IO). */
typedef struct {
    unsigned char *data;
    size_t len, cap;
} Bytes;

void bytes_append(Bytes *b, const void *data, size_t len);

uint32_t crc32_ieee(const unsigned char *data, size_t len);

/* Encodes readings[0..count) as one batch (header + payload) into out. */
void encode_batch(const Reading *readings, size_t count, Bytes *out);

#endif
