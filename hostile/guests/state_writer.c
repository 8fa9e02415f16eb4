/* Writes MIB mebibytes into /state/STATE/blob, 1 MiB per write, and stops at the first write
 * that fails. Prints "wrote BYTES errno NAME" (NAME: none, ENOSPC, EDQUOT or the number), so
 * a test can tell how far past a state's size cap a guest got.
 *
 *   state_writer STATE MIB */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>

static char chunk[1 << 20]; /* static: keep the buffer off the small wasm stack */

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: state_writer STATE MIB\n");
        return 2;
    }
    char path[256];
    snprintf(path, sizeof path, "/state/%s/blob", argv[1]);
    long mebibytes = atol(argv[2]);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("wrote 0 errno %d\n", errno);
        return 74;
    }
    for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (char)(i * 131u);
    long long written = 0;
    int failure = 0;
    for (long i = 0; i < mebibytes; i++) {
        ssize_t done = write(fd, chunk, sizeof chunk);
        if (done < 0) {
            failure = errno;
            break;
        }
        written += done;
        if (done < (ssize_t)sizeof chunk) {
            failure = ENOSPC; /* a short write: the file system is full for us */
            break;
        }
    }
    close(fd);
    if (failure == 0) printf("wrote %lld errno none\n", written);
    else if (failure == ENOSPC) printf("wrote %lld errno ENOSPC\n", written);
    else if (failure == EDQUOT) printf("wrote %lld errno EDQUOT\n", written);
    else printf("wrote %lld errno %d\n", written, failure);
    return 0;
}
