/*
 * collector: a disconnected-site buffer. See README.md for the contract.
 *
 *   collector collect [STATE]   append the readings on stdin to STATE/buffer.log
 *   collector forward [STATE]   emit one deduplicated, compressed batch on stdout,
 *                               record its ids in STATE/seen.ids, clear the buffer
 *
 * STATE is a state name (default "site", i.e. /state/site) or, when it contains
 * a '/', a directory path (for native runs). Runs on one state must not overlap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

typedef struct {
    const char *data;
    size_t len, pos;
    size_t line_no;
} LineReader;

/* Next line without '\n' (and without a trailing '\r'); a final unterminated
 * line is returned only when include_partial is set. */
static int next_line(LineReader *r, int include_partial, const char **line, size_t *len) {
    if (r->pos >= r->len) return 0;
    const char *start = r->data + r->pos;
    const char *newline = memchr(start, '\n', r->len - r->pos);
    if (!newline && !include_partial) return 0;
    *len = newline ? (size_t)(newline - start) : r->len - r->pos;
    r->pos += *len + (newline != NULL);
    r->line_no++;
    if (*len > 0 && start[*len - 1] == '\r') (*len)--;
    *line = start;
    return 1;
}

static int fail(int code, const char *message, const char *detail) {
    fprintf(stderr, "collector: error: %s%s%s\n", message, detail ? ": " : "", detail ? detail : "");
    return code;
}

static void sync_quietly(int fd) {
    /* Not every WASI host supports fd_sync on every file; durability is best effort. */
    (void)fsync(fd);
}

/* Drops a partial last line left by an interrupted collect; returns the kept size. */
static off_t repair_tail(int fd) {
    off_t size = lseek(fd, 0, SEEK_END), end = size;
    unsigned char chunk[4096];
    while (end > 0) {
        size_t want = end < (off_t)sizeof chunk ? (size_t)end : sizeof chunk;
        if (pread(fd, chunk, want, end - (off_t)want) != (ssize_t)want) return -1;
        for (size_t i = want; i > 0; i--)
            if (chunk[i - 1] == '\n') {
                off_t keep = end - (off_t)want + (off_t)i;
                return keep == size || ftruncate(fd, keep) == 0 ? keep : -1;
            }
        end -= (off_t)want;
    }
    return size == 0 || ftruncate(fd, 0) == 0 ? 0 : -1;
}

static int collect(const char *dir) {
    Bytes input = {0}, accepted = {0};
    if (read_whole(0, &input)) return fail(EXIT_IO, "cannot read stdin", strerror(errno));
    LineReader reader = {(const char *)input.data, input.len, 0, 0};
    const char *line;
    size_t len, count = 0;
    Reading reading;
    while (next_line(&reader, 1, &line, &len)) {
        if (len == 0) continue;
        if (parse_reading(line, len, &reading)) {
            fprintf(stderr, "collector: error: stdin line %zu: malformed reading; batch rejected\n",
                    reader.line_no);
            return EXIT_BAD_INPUT; /* all or nothing: the sender retries the whole batch */
        }
        bytes_append(&accepted, line, len);
        bytes_append(&accepted, "\n", 1);
        count++;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/buffer.log", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) return fail(EXIT_IO, "cannot open buffer.log for writing", strerror(errno));
    off_t size = lseek(fd, 0, SEEK_END), kept = repair_tail(fd);
    if (kept < 0 || lseek(fd, kept, SEEK_SET) != kept || write_all(fd, accepted.data, accepted.len))
        return fail(EXIT_IO, "cannot append to buffer.log", strerror(errno));
    sync_quietly(fd);
    close(fd);
    fprintf(stderr, "{\"mode\":\"collect\",\"accepted\":%zu,\"buffer_bytes\":%lld,\"repaired_bytes\":%lld}\n",
            count, (long long)(kept + (off_t)accepted.len), (long long)(size - kept));
    return 0;
}

/* Ids already taken into this batch: open addressing, 0 marks an empty slot, so
 * id 0 is tracked separately. */
typedef struct {
    uint64_t *slots;
    size_t mask;
    int has_zero;
} BatchIds;

static int batch_ids_add(BatchIds *set, uint64_t id) {
    if (id == 0) {
        int fresh = !set->has_zero;
        set->has_zero = 1;
        return fresh;
    }
    size_t i = (size_t)((id * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & set->mask;
    while (set->slots[i] && set->slots[i] != id) i = (i + 1) & set->mask;
    if (set->slots[i]) return 0;
    set->slots[i] = id;
    return 1;
}

static int forward(const char *dir) {
    char seen_path[4096], tmp_path[4096], buffer_path[4096];
    snprintf(seen_path, sizeof seen_path, "%s/seen.ids", dir);
    snprintf(tmp_path, sizeof tmp_path, "%s/seen.ids.tmp", dir);
    snprintf(buffer_path, sizeof buffer_path, "%s/buffer.log", dir);
    IdSet seen;
    int status = seen_load(seen_path, &seen);
    if (status == -1) return fail(EXIT_IO, "cannot read seen.ids", strerror(errno));
    if (status == -2) return fail(EXIT_CORRUPT_STATE, "seen.ids is corrupt", NULL);
    Bytes buffer = {0};
    int missing;
    if (read_path(buffer_path, &buffer, &missing))
        return fail(EXIT_IO, "cannot read buffer.log", strerror(errno));

    size_t lines = 0;
    for (size_t i = 0; i < buffer.len; i++) lines += buffer.data[i] == '\n';
    Reading *batch = malloc((lines ? lines : 1) * sizeof *batch);
    uint64_t *new_ids = malloc((lines ? lines : 1) * sizeof *new_ids);
    BatchIds taken = {NULL, 15, 0};
    while (taken.mask + 1 < 2 * lines) taken.mask = 2 * taken.mask + 1;
    taken.slots = calloc(taken.mask + 1, sizeof *taken.slots);
    if (!batch || !new_ids || !taken.slots) return fail(EXIT_IO, "out of memory", NULL);

    LineReader reader = {(const char *)buffer.data, buffer.len, 0, 0};
    const char *line;
    size_t len, buffered = 0, count = 0, raw_bytes = 0;
    while (next_line(&reader, 0, &line, &len)) {
        if (len == 0) continue;
        Reading *reading = &batch[count];
        if (parse_reading(line, len, reading)) {
            fprintf(stderr, "collector: error: buffer.log line %zu is corrupt\n", reader.line_no);
            return EXIT_CORRUPT_STATE;
        }
        buffered++;
        /* First occurrence wins; ids forwarded by an earlier run are never resent. */
        if (seen_contains(&seen, reading->id) || !batch_ids_add(&taken, reading->id)) continue;
        new_ids[count++] = reading->id;
        raw_bytes += len + 1;
    }
    Bytes encoded = {0};
    encode_batch(batch, count, &encoded);

    /* Order matters: prepare the new seen set (fails early on a read-only state),
     * emit the batch, commit seen.ids by rename, and only then clear the buffer. */
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return fail(EXIT_IO, "cannot write seen.ids.tmp", strerror(errno));
    if (seen_write(fd, &seen, new_ids, count)) return fail(EXIT_IO, "cannot write seen.ids.tmp", strerror(errno));
    sync_quietly(fd);
    close(fd);
    if (write_all(1, encoded.data, encoded.len)) {
        unlink(tmp_path);
        return fail(EXIT_IO, "cannot write the batch to stdout", strerror(errno));
    }
    if (rename(tmp_path, seen_path)) return fail(EXIT_IO, "cannot commit seen.ids", strerror(errno));
    fd = open(buffer_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return fail(EXIT_IO, "cannot clear buffer.log", strerror(errno));
    close(fd);
    fprintf(stderr,
            "{\"mode\":\"forward\",\"buffered\":%zu,\"duplicates\":%zu,\"forwarded\":%zu,"
            "\"raw_bytes\":%zu,\"batch_bytes\":%zu}\n",
            buffered, buffered - count, count, raw_bytes, encoded.len);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    const char *state = argc > 2 ? argv[2] : "site";
    int known = !strcmp(mode, "collect") || !strcmp(mode, "forward");
    int bad_name = !strchr(state, '/') &&
                   (!*state || !strcmp(state, ".") || !strcmp(state, "..") ||
                    strspn(state, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
                        strlen(state));
    if (!known || argc > 3 || bad_name) {
        fprintf(stderr, "usage: collector collect|forward [STATE_NAME|DIR]  (default state: site)\n");
        return EXIT_USAGE;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, strchr(state, '/') ? "%s" : "/state/%s", state);
    return !strcmp(mode, "collect") ? collect(dir) : forward(dir);
}
