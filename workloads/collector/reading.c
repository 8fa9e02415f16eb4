/*
 * Reading parsing, CRC-32 and the batch encoder (delta + zigzag + LEB128
 * varints, with a per-batch device dictionary).
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "collector.h"

/* ---- parsing ---- */

static int parse_unsigned(const char *s, size_t len, size_t max_digits, uint64_t *out) {
    uint64_t v = 0;
    if (len == 0 || len > max_digits) return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10) return -1;
        v = v * 10 + digit;
    }
    *out = v;
    return 0;
}

/* -?[0-9]{1,18} */
static int parse_ts(const char *s, size_t len, int64_t *out) {
    int negative = len > 0 && s[0] == '-';
    uint64_t v;
    if (parse_unsigned(s + negative, len - negative, 18, &v)) return -1;
    *out = negative ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* -?[0-9]{1,15}(\.[0-9]{1,3})? as thousandths */
static int parse_milli(const char *s, size_t len, int64_t *out) {
    int negative = len > 0 && s[0] == '-';
    const char *digits = s + negative, *end = s + len;
    const char *dot = memchr(digits, '.', (size_t)(end - digits));
    size_t int_len = (size_t)((dot ? dot : end) - digits);
    uint64_t whole, frac = 0;
    if (parse_unsigned(digits, int_len, 15, &whole)) return -1;
    if (dot) {
        size_t frac_len = (size_t)(end - dot - 1);
        if (parse_unsigned(dot + 1, frac_len, 3, &frac)) return -1;
        for (size_t k = frac_len; k < 3; k++) frac *= 10;
    }
    int64_t v = (int64_t)(whole * 1000 + frac);
    *out = negative ? -v : v;
    return 0;
}

static int is_device_id(const char *s, size_t len) {
    if (len == 0 || len > MAX_DEVICE_ID_BYTES) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':'))
            return 0;
    }
    return 1;
}

int parse_reading(const char *line, size_t len, Reading *out) {
    const char *field[4];
    size_t field_len[4];
    int count = 0;
    const char *start = line, *end = line + len;
    for (const char *p = line;; p++) {
        if (p < end && *p != ',') continue;
        if (count == 4) return -1;
        field[count] = start;
        field_len[count++] = (size_t)(p - start);
        if (p == end) break;
        start = p + 1;
    }
    if (count != 4 || !is_device_id(field[1], field_len[1])) return -1;
    if (parse_unsigned(field[0], field_len[0], 20, &out->id)) return -1;
    if (parse_ts(field[2], field_len[2], &out->ts_ms)) return -1;
    if (parse_milli(field[3], field_len[3], &out->value_milli)) return -1;
    memcpy(out->device, field[1], field_len[1]);
    out->device[field_len[1]] = '\0';
    return 0;
}

/* ---- bytes, checksum, varints ---- */

void bytes_append(Bytes *b, const void *data, size_t len) {
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len) cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) {
            fprintf(stderr, "collector: error: out of memory\n");
            exit(EXIT_IO);
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

uint32_t crc32_ieee(const unsigned char *data, size_t len) {
    static uint32_t table[256];
    if (!table[1]) /* reflected polynomial 0xEDB88320, as zlib */
        for (uint32_t n = 0; n < 256; n++) {
            uint32_t c = n;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

static void put_uvarint(Bytes *b, uint64_t v) {
    unsigned char buf[10];
    size_t n = 0;
    do {
        buf[n] = (unsigned char)(v & 0x7F);
        v >>= 7;
        if (v) buf[n] |= 0x80;
        n++;
    } while (v);
    bytes_append(b, buf, n);
}

/* Differences are taken mod 2^64 and zigzag-encoded so small negatives stay short. */
static void put_delta(Bytes *b, uint64_t value, uint64_t previous) {
    uint64_t diff = value - previous;
    put_uvarint(b, (diff << 1) ^ (uint64_t)(-(int64_t)(diff >> 63)));
}

static void put_u32le(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* ---- the batch ---- */

typedef struct {
    const char *name;
    uint64_t last_ts, last_value;
} DictEntry;

static uint64_t fnv1a(const char *text) {
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *text; text++) h = (h ^ (unsigned char)*text) * UINT64_C(1099511628211);
    return h;
}

void encode_batch(const Reading *readings, size_t count, Bytes *out) {
    /* Device dictionary in first-appearance order, found through an open-addressing
     * table of dictionary positions (slot value 0 = empty, else position + 1). */
    size_t slots_len = 16;
    while (slots_len < 2 * count) slots_len *= 2;
    size_t *slots = calloc(slots_len, sizeof *slots);
    DictEntry *dict = calloc(count ? count : 1, sizeof *dict);
    size_t *index = calloc(count ? count : 1, sizeof *index);
    size_t devices = 0;
    if (!slots || !dict || !index) exit(EXIT_IO);
    for (size_t r = 0; r < count; r++) {
        const char *name = readings[r].device;
        size_t s = fnv1a(name) & (slots_len - 1);
        while (slots[s] && strcmp(dict[slots[s] - 1].name, name)) s = (s + 1) & (slots_len - 1);
        if (!slots[s]) {
            dict[devices++].name = name;
            slots[s] = devices;
        }
        index[r] = slots[s] - 1;
    }
    free(slots);
    Bytes payload = {0};
    put_uvarint(&payload, devices);
    for (size_t d = 0; d < devices; d++) {
        size_t n = strlen(dict[d].name);
        put_uvarint(&payload, n);
        bytes_append(&payload, dict[d].name, n);
    }
    uint64_t last_id = 0;
    for (size_t r = 0; r < count; r++) {
        const Reading *reading = &readings[r];
        DictEntry *entry = &dict[index[r]];
        put_delta(&payload, reading->id, last_id);
        put_uvarint(&payload, index[r]);
        put_delta(&payload, (uint64_t)reading->ts_ms, entry->last_ts);
        put_delta(&payload, (uint64_t)reading->value_milli, entry->last_value);
        last_id = reading->id;
        entry->last_ts = (uint64_t)reading->ts_ms;
        entry->last_value = (uint64_t)reading->value_milli;
    }
    unsigned char header[BATCH_HEADER_BYTES] = {'V', 'Y', 'R', 'B', 1, 0, BATCH_HEADER_BYTES, 0};
    put_u32le(header + 8, (uint32_t)count);
    put_u32le(header + 12, (uint32_t)payload.len);
    put_u32le(header + 16, crc32_ieee(payload.data, payload.len));
    put_u32le(header + 20, crc32_ieee(header, 20));
    bytes_append(out, header, sizeof header);
    bytes_append(out, payload.data, payload.len);
    free(payload.data);
    free(dict);
    free(index);
}
