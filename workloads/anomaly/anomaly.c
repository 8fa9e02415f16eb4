/*
 * anomaly: CPU-bound rolling anomaly detection with a deterministic summary.
 * Built both for wasm32-wasi and natively to measure the Wasm overhead.
 *
 *   anomaly [--count N] [--window W] [--seed S] [--z Z]   synthetic series (default)
 *   anomaly --stdin [--window W] [--z Z]                  one number per line on stdin
 *
 * Each sample (in thousandths, an integer) is compared with the W samples
 * before it: a z-score flag when |x - mean| / stddev > Z, and a Tukey flag when
 * x lies outside [Q1 - 3 IQR, Q3 + 3 IQR] of the window. Window sums are exact
 * integers and the sorted window is kept by binary search + memmove, so the
 * output is identical on every target (compile with -ffp-contract=off).
 * stdout: one JSON line. Exit: 0; 2 usage; 65 malformed stdin.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WINDOW 4096
#define MAX_ABS_SAMPLE INT64_C(2147483647)
#define FIRST_SHOWN 8

typedef __int128 i128;

typedef struct {
    int64_t *ring, *sorted;
    size_t window, filled, head;
    i128 sum, sum_sq;
} Window;

typedef struct {
    double threshold, max_abs_z;
    uint64_t samples, z_count, iqr_count, both_count, checksum;
    int64_t sum;
    uint64_t first_z[FIRST_SHOWN], first_iqr[FIRST_SHOWN];
} Summary;

/* ---- synthetic series: splitmix64-driven random walk + season + noise + spikes ---- */

static uint64_t rng_state;

static uint64_t next_random(void) {
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static int64_t uniform(int64_t n) { return (int64_t)(next_random() % (uint64_t)n); }

static int64_t synthetic_sample(uint64_t i) {
    static int64_t level = 20000;
    level += uniform(41) - 20;
    if (level > 500000) level = 500000;
    if (level < -500000) level = -500000;
    int64_t phase = (int64_t)(i % 1440), triangle = phase < 720 ? phase : 1440 - phase;
    int64_t noise = 0;
    for (int k = 0; k < 4; k++) noise += uniform(2001) - 1000;
    int64_t x = level + (triangle - 360) * 14 + noise;
    if (uniform(2000) == 0) x += (uniform(40001) + 20000) * (next_random() & 1 ? 1 : -1);
    return x;
}

/* ---- the rolling window ---- */

static size_t lower_bound(const int64_t *a, size_t n, int64_t x) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void window_push(Window *w, int64_t x) {
    if (w->filled == w->window) { /* evict the oldest sample */
        int64_t old = w->ring[w->head];
        size_t at = lower_bound(w->sorted, w->filled, old);
        memmove(w->sorted + at, w->sorted + at + 1, (w->filled - at - 1) * sizeof *w->sorted);
        w->filled--;
        w->sum -= old;
        w->sum_sq -= (i128)old * old;
    }
    size_t at = lower_bound(w->sorted, w->filled, x);
    memmove(w->sorted + at + 1, w->sorted + at, (w->filled - at) * sizeof *w->sorted);
    w->sorted[at] = x;
    w->filled++;
    w->ring[w->head] = x;
    w->head = (w->head + 1) % w->window;
    w->sum += x;
    w->sum_sq += (i128)x * x;
}

static void fnv1a_u64(uint64_t *h, uint64_t v) {
    for (int i = 0; i < 8; i++) *h = (*h ^ ((v >> (8 * i)) & 0xFF)) * UINT64_C(1099511628211);
}

static void observe(Window *w, Summary *s, int64_t x) {
    uint64_t index = s->samples++;
    s->sum += x;
    if (w->filled == w->window) {
        i128 n = (i128)w->window;
        /* |x - mean| / std == |n x - sum| / sqrt(n sum_sq - sum^2), all exact but the last step */
        i128 d = n * x - w->sum, spread = n * w->sum_sq - w->sum * w->sum;
        double abs_z = spread > 0 ? (double)(d < 0 ? -d : d) / sqrt((double)spread)
                                  : (d != 0 ? INFINITY : 0.0);
        int64_t q1 = w->sorted[w->window / 4], q3 = w->sorted[3 * w->window / 4], iqr = q3 - q1;
        int z_flag = abs_z > s->threshold, iqr_flag = x < q1 - 3 * iqr || x > q3 + 3 * iqr;
        if (abs_z > s->max_abs_z) s->max_abs_z = abs_z;
        if (z_flag && s->z_count < FIRST_SHOWN) s->first_z[s->z_count] = index;
        if (iqr_flag && s->iqr_count < FIRST_SHOWN) s->first_iqr[s->iqr_count] = index;
        s->z_count += z_flag;
        s->iqr_count += iqr_flag;
        s->both_count += z_flag && iqr_flag;
        if (z_flag || iqr_flag) {
            fnv1a_u64(&s->checksum, index);
            fnv1a_u64(&s->checksum, (uint64_t)(z_flag | iqr_flag << 1));
        }
    }
    window_push(w, x);
}

/* ---- input and output ---- */

/* -?[0-9]{1,10}(\.[0-9]{1,3})? -> thousandths, |value| <= MAX_ABS_SAMPLE */
static int parse_sample(const char *s, size_t len, int64_t *out) {
    size_t i = s[0] == '-', digits = 0, frac_digits = 0;
    int64_t v = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9' && digits < 10; i++, digits++) v = v * 10 + (s[i] - '0');
    v *= 1000;
    if (i < len && s[i] == '.') {
        int64_t frac = 0;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9' && frac_digits < 3; i++, frac_digits++)
            frac = frac * 10 + (s[i] - '0');
        if (frac_digits == 0) return -1;
        for (size_t k = frac_digits; k < 3; k++) frac *= 10;
        v += frac;
    }
    if (digits == 0 || i != len || v > MAX_ABS_SAMPLE) return -1;
    *out = s[0] == '-' ? -v : v;
    return 0;
}

static void print_list(const char *name, const uint64_t *values, uint64_t count) {
    printf(",\"%s\":[", name);
    for (uint64_t i = 0; i < count && i < FIRST_SHOWN; i++) printf(i ? ",%llu" : "%llu", (unsigned long long)values[i]);
    printf("]");
}

static void print_number(const char *name, double v) {
    if (isfinite(v)) printf(",\"%s\":%.6f", name, v);
    else printf(",\"%s\":null", name);
}

static void print_summary(const Window *w, const Summary *s, const char *source) {
    printf("{\"source\":\"%s\",\"samples\":%llu,\"window\":%zu,\"z\":%.3f", source,
           (unsigned long long)s->samples, w->window, s->threshold);
    printf(",\"z_anomalies\":%llu,\"iqr_anomalies\":%llu,\"both\":%llu", (unsigned long long)s->z_count,
           (unsigned long long)s->iqr_count, (unsigned long long)s->both_count);
    print_list("first_z", s->first_z, s->z_count);
    print_list("first_iqr", s->first_iqr, s->iqr_count);
    print_number("max_abs_z", s->max_abs_z);
    double n = (double)w->filled, spread = (double)((i128)w->filled * w->sum_sq - w->sum * w->sum);
    print_number("final_mean", w->filled ? (double)w->sum / n / 1000.0 : 0.0);
    print_number("final_std", w->filled ? sqrt(spread) / n / 1000.0 : 0.0);
    printf(",\"sum_milli\":%lld,\"checksum\":\"%016llx\"}\n", (long long)s->sum,
           (unsigned long long)s->checksum);
}

static int usage(void) {
    fprintf(stderr, "usage: anomaly [--count N] [--window W (2..%d)] [--seed S] [--z Z]\n"
                    "       anomaly --stdin [--window W] [--z Z]\n", MAX_WINDOW);
    return 2;
}

static int parse_u64(const char *text, uint64_t *out) {
    char *end;
    if (!*text || *text == '-' || *text == '+' || *text == ' ') return -1;
    *out = strtoull(text, &end, 10);
    return *end ? -1 : 0;
}

int main(int argc, char **argv) {
    uint64_t count = 1000000, window = 256, seed = 1;
    double threshold = 4.0;
    int from_stdin = 0, synthetic_option = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--stdin")) { from_stdin = 1; continue; }
        if (!value) return usage();
        i++;
        if (!strcmp(arg, "--count") && !parse_u64(value, &count)) synthetic_option = 1;
        else if (!strcmp(arg, "--seed") && !parse_u64(value, &seed)) synthetic_option = 1;
        else if (!strcmp(arg, "--window") && !parse_u64(value, &window)) continue;
        else if (!strcmp(arg, "--z")) {
            char *end;
            threshold = strtod(value, &end);
            if (*end || !(threshold > 0 && threshold <= 1000)) return usage();
        } else return usage();
    }
    if (window < 2 || window > MAX_WINDOW || (from_stdin && synthetic_option)) return usage();

    Window w = {malloc(window * sizeof(int64_t)), malloc(window * sizeof(int64_t)), window, 0, 0, 0, 0};
    Summary s = {.threshold = threshold, .checksum = UINT64_C(14695981039346656037)};
    if (!w.ring || !w.sorted) return 1;
    if (from_stdin) {
        char *line = NULL;
        size_t cap = 0, line_no = 0;
        ssize_t got;
        while ((got = getline(&line, &cap, stdin)) >= 0) {
            size_t len = (size_t)got;
            line_no++;
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
            if (len == 0) continue;
            int64_t x;
            if (parse_sample(line, len, &x)) {
                fprintf(stderr, "anomaly: error: stdin line %zu: not a number with <= 3 decimals\n", line_no);
                return 65;
            }
            observe(&w, &s, x);
        }
        free(line);
    } else {
        rng_state = seed;
        for (uint64_t i = 0; i < count; i++) observe(&w, &s, synthetic_sample(i));
    }
    print_summary(&w, &s, from_stdin ? "stdin" : "synthetic");
    return fflush(stdout) == 0 ? 0 : 1;
}
