/* The trivial guest of issue 2's warm-task and throughput goals: a WASI command that starts
 * (libc init, args, env) and exits 0 without touching stdin or stdout. */
int main(void) { return 0; }
