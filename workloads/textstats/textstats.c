/*
 * textstats: a file-processing program written for WASI, not for VYR: it walks a directory
 * tree, counts lines, words and bytes of every regular file (as `wc` does) and writes a
 * report into another directory. Run it on a host directory with `vyr run --dir` exactly as
 * with `wasmtime run --dir`:
 *
 *   textstats IN_DIR OUT_DIR    writes OUT_DIR/report.tsv (path, lines, words, bytes; sorted
 *                               by path) and prints the totals on stdout
 *
 * Exit 0; 2 on usage; 74 (EX_IOERR) if a file cannot be read or the report written.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct entry {
    char *path; /* relative to IN_DIR */
    unsigned long long lines, words, bytes;
};

static struct entry *entries;
static size_t count, capacity;

static int count_file(const char *full, struct entry *into) {
    static unsigned char chunk[65536]; /* static: keep big buffers off the small wasm stack */
    FILE *file = fopen(full, "rb");
    if (!file) return 74;
    int in_word = 0;
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0) {
        into->bytes += got;
        for (size_t i = 0; i < got; i++) {
            if (chunk[i] == '\n') into->lines++;
            int space = isspace(chunk[i]);
            if (!space && !in_word) into->words++;
            in_word = !space;
        }
    }
    int failed = ferror(file);
    fclose(file);
    return failed ? 74 : 0;
}

static int walk(const char *root, const char *relative) {
    char dir_path[4096];
    snprintf(dir_path, sizeof dir_path, "%s%s%s", root, *relative ? "/" : "", relative);
    DIR *dir = opendir(dir_path);
    if (!dir) return 74;
    struct dirent *item;
    int status = 0;
    while (status == 0 && (item = readdir(dir)) != NULL) {
        if (strcmp(item->d_name, ".") == 0 || strcmp(item->d_name, "..") == 0) continue;
        char child[4096], full[4096];
        snprintf(child, sizeof child, "%s%s%s", relative, *relative ? "/" : "", item->d_name);
        snprintf(full, sizeof full, "%s/%s", root, child);
        struct stat info;
        if (lstat(full, &info) != 0) { status = 74; break; }
        if (S_ISDIR(info.st_mode)) {
            status = walk(root, child);
        } else if (S_ISREG(info.st_mode)) {
            if (count == capacity) {
                capacity = capacity ? capacity * 2 : 64;
                entries = realloc(entries, capacity * sizeof *entries);
                if (!entries) { status = 74; break; }
            }
            struct entry *next = &entries[count++];
            memset(next, 0, sizeof *next);
            next->path = strdup(child);
            status = count_file(full, next);
        }
    }
    closedir(dir);
    return status;
}

static int by_path(const void *a, const void *b) {
    return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: textstats IN_DIR OUT_DIR\n");
        return 2;
    }
    int status = walk(argv[1], "");
    if (status != 0) {
        fprintf(stderr, "textstats: cannot read %s\n", argv[1]);
        return status;
    }
    qsort(entries, count, sizeof *entries, by_path);
    char report_path[4096];
    snprintf(report_path, sizeof report_path, "%s/report.tsv", argv[2]);
    FILE *report = fopen(report_path, "w");
    if (!report) {
        fprintf(stderr, "textstats: cannot write %s\n", report_path);
        return 74;
    }
    unsigned long long lines = 0, words = 0, bytes = 0;
    fprintf(report, "path\tlines\twords\tbytes\n");
    for (size_t i = 0; i < count; i++) {
        fprintf(report, "%s\t%llu\t%llu\t%llu\n", entries[i].path, entries[i].lines,
                entries[i].words, entries[i].bytes);
        lines += entries[i].lines;
        words += entries[i].words;
        bytes += entries[i].bytes;
    }
    if (fclose(report) != 0) return 74;
    printf("files %zu lines %llu words %llu bytes %llu\n", count, lines, words, bytes);
    return 0;
}
