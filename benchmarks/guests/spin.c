/* An endless loop: the stop-latency benchmark's guest. Only a deadline or a cancel ends it.
 * `volatile` keeps the compiler from proving the loop empty and deleting it. */
int main(void) {
    volatile unsigned x = 0;
    for (;;) {
        x++;
    }
}
