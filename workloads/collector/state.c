/*
 * Files in the bound state directory: whole-file reads, full writes, and the
 * "seen ids" set that makes forwarding exactly-once across runs.
 *
 * seen.ids = "VYRSEEN1" followed by strictly ascending little-endian u64 ids.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

static const char SEEN_MAGIC[8] = {'V', 'Y', 'R', 'S', 'E', 'E', 'N', '1'};

int read_whole(int fd, Bytes *out) {
    static unsigned char chunk[65536]; /* static: keep big buffers off the small wasm stack */
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return -1;
        if (got == 0) return 0;
        bytes_append(out, chunk, (size_t)got);
    }
}

int read_path(const char *path, Bytes *out, int *missing) {
    int fd = open(path, O_RDONLY);
    *missing = fd < 0 && errno == ENOENT;
    if (fd < 0) return *missing ? 0 : -1;
    int status = read_whole(fd, out);
    close(fd);
    return status;
}

int write_all(int fd, const void *data, size_t len) {
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t put = write(fd, p, len);
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return -1;
        p += put;
        len -= (size_t)put;
    }
    return 0;
}

static uint64_t load_u64le(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

int seen_load(const char *path, IdSet *out) {
    Bytes raw = {0};
    int missing;
    out->ids = NULL;
    out->count = 0;
    if (read_path(path, &raw, &missing)) return -1;
    if (missing) return 0;
    if (raw.len < 8 || (raw.len - 8) % 8 || memcmp(raw.data, SEEN_MAGIC, 8)) {
        free(raw.data);
        return -2;
    }
    out->count = (raw.len - 8) / 8;
    out->ids = malloc((out->count ? out->count : 1) * sizeof *out->ids);
    if (!out->ids) exit(EXIT_IO);
    for (size_t i = 0; i < out->count; i++) {
        out->ids[i] = load_u64le(raw.data + 8 + 8 * i);
        if (i > 0 && out->ids[i] <= out->ids[i - 1]) {
            free(raw.data);
            return -2;
        }
    }
    free(raw.data);
    return 0;
}

int seen_contains(const IdSet *set, uint64_t id) {
    size_t lo = 0, hi = set->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->ids[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < set->count && set->ids[lo] == id;
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Writes seen ∪ added (added: distinct ids not in seen, any order; sorted in place). */
int seen_write(int fd, const IdSet *seen, uint64_t *added, size_t added_count) {
    qsort(added, added_count, sizeof *added, compare_u64);
    Bytes out = {0};
    bytes_append(&out, SEEN_MAGIC, sizeof SEEN_MAGIC);
    size_t i = 0, j = 0;
    while (i < seen->count || j < added_count) {
        uint64_t next = j == added_count || (i < seen->count && seen->ids[i] < added[j])
                            ? seen->ids[i++]
                            : added[j++];
        unsigned char le[8];
        for (int k = 0; k < 8; k++) le[k] = (unsigned char)(next >> (8 * k));
        bytes_append(&out, le, sizeof le);
    }
    int status = write_all(fd, out.data, out.len);
    free(out.data);
    return status;
}
