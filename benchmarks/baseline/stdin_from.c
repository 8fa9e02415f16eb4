/* stdin-from IN OUT PROGRAM [ARGS...]: runs PROGRAM with IN as its stdin and, unless OUT is
 * "-", OUT (created or truncated) as its stdout.
 *
 * A Kubernetes Job gets its input as a mounted volume, not on stdin, while the reference
 * guests read stdin and write stdout; this entrypoint joins the two without a shell (the
 * minimal images have none). The output goes to a file on a mounted volume because `ctr run`
 * can lose the tail of a container's stdout when the process exits at once (seen here about
 * once in 50 runs); a kubelet reads logs from files the shim writes, not from a client pipe. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int redirect(const char *path, int flags, int target) {
    int fd = open(path, flags, 0644);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    if (fd != target) {
        if (dup2(fd, target) < 0) {
            perror("dup2");
            return -1;
        }
        close(fd);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fputs("usage: stdin-from IN OUT PROGRAM [ARGS...]\n", stderr);
        return 2;
    }
    if (redirect(argv[1], O_RDONLY, 0) < 0) {
        return 127;
    }
    if (strcmp(argv[2], "-") != 0 && redirect(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 1) < 0) {
        return 127;
    }
    execv(argv[3], argv + 3);
    perror(argv[3]);
    return 127;
}
