/*
 * state-file: moves bytes between a task's stdin/stdout and a file in a bound state, so a
 * state can be filled (and read back) through the Control API alone.
 *
 *   state-file put STATE FILE   stdin -> /state/STATE/FILE   (needs a read-write binding)
 *   state-file get STATE FILE   /state/STATE/FILE -> stdout
 *
 * FILE is a plain name (no '/'). Exit 0; 2 on usage; 74 (EX_IOERR) if the file cannot be
 * opened or written, e.g. under a read-only binding.
 */
#include <stdio.h>
#include <string.h>

static int copy(FILE *from, FILE *to) {
    static unsigned char chunk[65536]; /* static: keep big buffers off the small wasm stack */
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, from)) > 0)
        if (fwrite(chunk, 1, got, to) != got) return 74;
    if (ferror(from)) return 74;
    return fflush(to) == 0 ? 0 : 74;
}

int main(int argc, char **argv) {
    if (argc != 4 || strchr(argv[3], '/') || strchr(argv[2], '/') || argv[3][0] == '\0' ||
        (strcmp(argv[1], "put") != 0 && strcmp(argv[1], "get") != 0)) {
        fprintf(stderr, "usage: state-file put|get STATE FILE\n");
        return 2;
    }
    char path[512];
    snprintf(path, sizeof path, "/state/%s/%s", argv[2], argv[3]);
    int put = strcmp(argv[1], "put") == 0;
    FILE *file = fopen(path, put ? "wb" : "rb");
    if (!file) {
        perror(path);
        return 74;
    }
    int status = put ? copy(stdin, file) : copy(file, stdout);
    if (fclose(file) != 0) status = 74;
    if (status) fprintf(stderr, "state-file: I/O error on %s\n", path);
    return status;
}
