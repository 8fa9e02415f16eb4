/*
 * hello: the smallest VYR guest, used by tests and the demo.
 *
 * stdin  -> stdout with ASCII letters upper-cased (other bytes unchanged).
 * stderr <- one line "hello: <n> bytes".
 * argv[1], if present, is the exit code (decimal 0..255); anything else is a
 * usage error (exit 2). argv[0] is the artifact name and is ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_exit_code(const char *text) {
    if (*text == '\0' || strlen(text) > 3) return -1;
    int code = 0;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9') return -1;
        code = code * 10 + (*c - '0');
    }
    return code <= 255 ? code : -1;
}

int main(int argc, char **argv) {
    int exit_code = 0;
    if (argc > 1) {
        exit_code = parse_exit_code(argv[1]);
        if (exit_code < 0 || argc > 2) {
            fprintf(stderr, "usage: hello [EXIT_CODE 0..255]\n");
            return 2;
        }
    }
    static unsigned char chunk[65536]; /* static: keep big buffers off the small wasm stack */
    size_t total = 0, got;
    while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
        for (size_t i = 0; i < got; i++)
            if (chunk[i] >= 'a' && chunk[i] <= 'z') chunk[i] -= 'a' - 'A';
        if (fwrite(chunk, 1, got, stdout) != got) return 1;
        total += got;
    }
    if (ferror(stdin) || fflush(stdout) != 0) return 1;
    fprintf(stderr, "hello: %zu bytes\n", total);
    return exit_code;
}
