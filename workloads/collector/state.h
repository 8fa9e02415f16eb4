/* collector: state-directory file helpers (see state.c). */
#ifndef VYR_COLLECTOR_STATE_H
#define VYR_COLLECTOR_STATE_H

#include "collector.h"

typedef struct {
    uint64_t *ids; /* strictly ascending */
    size_t count;
} IdSet;

int read_whole(int fd, Bytes *out);
/* Reads path into out; a missing file is not an error (*missing = 1, out empty). */
int read_path(const char *path, Bytes *out, int *missing);
int write_all(int fd, const void *data, size_t len);

/* 0 ok (missing file = empty set), -1 I/O error, -2 corrupt file. */
int seen_load(const char *path, IdSet *out);
int seen_contains(const IdSet *set, uint64_t id);
int seen_write(int fd, const IdSet *seen, uint64_t *added, size_t added_count);

#endif
