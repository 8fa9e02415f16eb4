/*
 * One input line -> Event: a strict JSON-object scanner, timestamp parsing and
 * unit normalisation. Everything that makes a line "malformed" lives here.
 */
#include <stdlib.h>
#include <string.h>

#include "event.h"

const char *const QUANTITY_NAMES[Q_COUNT] = {"temperature", "pressure", "humidity"};
const char *const CANONICAL_UNITS[Q_COUNT] = {"C", "kPa", "%"};

/* ---- JSON scanning (flat objects only; values are never decoded) ---- */

typedef struct {
    const char *text;
    size_t len, pos;
} Cursor;

enum value_type { V_STRING, V_NUMBER, V_LITERAL };

typedef struct {
    enum value_type type;
    const char *start; /* string: the raw bytes between the quotes */
    size_t len;
    int is_plain_integer; /* number: no '-', fraction or exponent */
} Value;

static int peek(const Cursor *c) { return c->pos < c->len ? (unsigned char)c->text[c->pos] : -1; }

static void skip_ws(Cursor *c) {
    while (c->pos < c->len) {
        char ch = c->text[c->pos];
        if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') break;
        c->pos++;
    }
}

static int is_hex(int ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static int is_digit(int ch) { return ch >= '0' && ch <= '9'; }

static int scan_string(Cursor *c, Value *out) {
    c->pos++; /* opening quote */
    size_t start = c->pos;
    for (;;) {
        int ch = peek(c);
        if (ch < 0x20) return -1; /* end of line, or a raw control byte */
        if (ch == '"') break;
        if (ch == '\\') {
            c->pos++;
            ch = peek(c);
            if (ch == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (c->pos + k >= c->len || !is_hex((unsigned char)c->text[c->pos + k])) return -1;
                c->pos += 4;
            } else if (ch <= 0 || !strchr("\"\\/bfnrt", ch)) {
                return -1;
            }
        }
        c->pos++;
    }
    out->type = V_STRING;
    out->start = c->text + start;
    out->len = c->pos - start;
    c->pos++; /* closing quote */
    return 0;
}

static int scan_number(Cursor *c, Value *out) {
    size_t start = c->pos;
    int plain = 1;
    if (peek(c) == '-') { plain = 0; c->pos++; }
    if (peek(c) == '0') {
        c->pos++;
    } else if (is_digit(peek(c))) {
        while (is_digit(peek(c))) c->pos++;
    } else {
        return -1;
    }
    if (peek(c) == '.') {
        plain = 0;
        c->pos++;
        if (!is_digit(peek(c))) return -1;
        while (is_digit(peek(c))) c->pos++;
    }
    if (peek(c) == 'e' || peek(c) == 'E') {
        plain = 0;
        c->pos++;
        if (peek(c) == '+' || peek(c) == '-') c->pos++;
        if (!is_digit(peek(c))) return -1;
        while (is_digit(peek(c))) c->pos++;
    }
    out->type = V_NUMBER;
    out->start = c->text + start;
    out->len = c->pos - start;
    out->is_plain_integer = plain;
    return 0;
}

static int scan_literal(Cursor *c, Value *out, const char *word) {
    size_t n = strlen(word);
    if (c->len - c->pos < n || memcmp(c->text + c->pos, word, n) != 0) return -1;
    c->pos += n;
    out->type = V_LITERAL;
    return 0;
}

static int scan_value(Cursor *c, Value *out) {
    int ch = peek(c);
    if (ch == '"') return scan_string(c, out);
    if (ch == '-' || is_digit(ch)) return scan_number(c, out);
    if (ch == 't') return scan_literal(c, out, "true");
    if (ch == 'f') return scan_literal(c, out, "false");
    if (ch == 'n') return scan_literal(c, out, "null");
    return -1; /* nested objects and arrays are not accepted */
}

int is_json_number(const char *text, size_t len) {
    Cursor c = {text, len, 0};
    Value v;
    return scan_number(&c, &v) == 0 && c.pos == len;
}

double token_to_double(const char *text, size_t len) {
    static char buffer[MAX_LINE_BYTES + 1];
    if (len > MAX_LINE_BYTES) len = MAX_LINE_BYTES; /* callers bound len already */
    memcpy(buffer, text, len);
    buffer[len] = '\0';
    return strtod(buffer, NULL);
}

int is_device_id(const char *text, size_t len) {
    if (len == 0 || len > MAX_DEVICE_ID_BYTES) return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) ||
                 ch == '_' || ch == '-' || ch == '.' || ch == ':';
        if (!ok) return 0;
    }
    return 1;
}

/* ---- timestamps ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void format_rfc3339_ms(int64_t ms, char out[25]) {
    int64_t days = ms / 86400000, in_day = ms % 86400000; /* ms >= 0 */
    int64_t z = days + 719468;
    int64_t era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    int64_t fields[7] = {y, m, d, in_day / 3600000, in_day / 60000 % 60, in_day / 1000 % 60,
                         in_day % 1000};
    static const char layout[] = "0000-00-00T00:00:00.000Z";
    static const int ends[7] = {4, 7, 10, 13, 16, 19, 23}; /* end of each number field */
    memcpy(out, layout, sizeof layout);
    for (int f = 0; f < 7; f++)
        for (int64_t p = ends[f] - 1, v = fields[f]; v > 0; p--, v /= 10) out[p] = (char)('0' + v % 10);
}

static int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM); no leap seconds. */
static int parse_rfc3339(const char *s, size_t n, int64_t *ms_out) {
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, frac_ms = 0, off_h = 0, off_m = 0, sign = 0;
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return -1;
    if (d > month_days[mo - 1] + (mo == 2 && is_leap(y))) return -1;
    size_t i = 19;
    if (s[i] == '.') {
        size_t first = ++i;
        while (i < n && is_digit(s[i])) i++;
        size_t count = i - first;
        if (count < 1 || count > 9) return -1;
        for (size_t k = 0; k < 3; k++) frac_ms = frac_ms * 10 + (k < count ? s[first + k] - '0' : 0);
    }
    if (i < n && s[i] == 'Z') {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        sign = s[i] == '+' ? 1 : -1;
        if (n - i < 6 || s[i + 3] != ':' || digits(s + i + 1, 2, &off_h) ||
            digits(s + i + 4, 2, &off_m) || off_h > 23 || off_m > 59)
            return -1;
        i += 6;
    } else {
        return -1;
    }
    if (i != n) return -1;
    int64_t seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                      (int64_t)sign * (off_h * 3600 + off_m * 60);
    int64_t ms = seconds * 1000 + frac_ms;
    if (ms < 0 || ms > MAX_TS_MS) return -1;
    *ms_out = ms;
    return 0;
}

/* Unsigned integer: < SECONDS_MS_CUTOFF means unix seconds, otherwise unix ms. */
static int parse_unix_timestamp(const Value *v, int64_t *ms_out) {
    if (!v->is_plain_integer || v->len > 15) return -1;
    int64_t n = 0;
    for (size_t i = 0; i < v->len; i++) n = n * 10 + (v->start[i] - '0');
    int64_t ms = n < SECONDS_MS_CUTOFF ? n * 1000 : n;
    if (ms > MAX_TS_MS) return -1;
    *ms_out = ms;
    return 0;
}

/* ---- units ---- */

typedef struct {
    const char *name;
    enum quantity quantity;
} Unit;

static const Unit UNITS[] = {
    {"C", Q_TEMPERATURE}, {"F", Q_TEMPERATURE}, {"K", Q_TEMPERATURE}, {"Pa", Q_PRESSURE},
    {"hPa", Q_PRESSURE},  {"kPa", Q_PRESSURE},  {"mbar", Q_PRESSURE}, {"bar", Q_PRESSURE},
    {"psi", Q_PRESSURE},  {"atm", Q_PRESSURE},  {"%", Q_HUMIDITY},    {"%RH", Q_HUMIDITY},
};

/* Each conversion is one or two IEEE operations, mirrored exactly in Python. */
static double to_canonical(const char *unit, double v) {
    if (!strcmp(unit, "F")) return (v - 32.0) / 1.8;
    if (!strcmp(unit, "K")) return v - 273.15;
    if (!strcmp(unit, "Pa")) return v / 1000.0;
    if (!strcmp(unit, "hPa") || !strcmp(unit, "mbar")) return v / 10.0;
    if (!strcmp(unit, "bar")) return v * 100.0;
    if (!strcmp(unit, "psi")) return v * 6.894757293168361;
    if (!strcmp(unit, "atm")) return v * 101.325;
    return v; /* C, kPa, %, %RH */
}

static const Unit *find_unit(const Value *v) {
    for (size_t i = 0; i < sizeof UNITS / sizeof UNITS[0]; i++)
        if (strlen(UNITS[i].name) == v->len && memcmp(UNITS[i].name, v->start, v->len) == 0)
            return &UNITS[i];
    return NULL;
}

/* ---- the event ---- */

enum { F_DEVICE, F_TS, F_VALUE, F_UNIT, F_COUNT };
static const char *const FIELD_NAMES[F_COUNT] = {"device", "ts", "value", "unit"};

int parse_event(const char *line, size_t len, Event *out) {
    Cursor c = {line, len, 0};
    Value fields[F_COUNT];
    unsigned seen = 0;
    skip_ws(&c);
    if (peek(&c) != '{') return -1;
    c.pos++;
    skip_ws(&c);
    if (peek(&c) == '}') {
        c.pos++;
    } else {
        for (;;) {
            Value key, value;
            if (peek(&c) != '"' || scan_string(&c, &key)) return -1;
            skip_ws(&c);
            if (peek(&c) != ':') return -1;
            c.pos++;
            skip_ws(&c);
            if (scan_value(&c, &value)) return -1;
            /* Keys are compared as raw bytes: an escaped spelling is an unknown key. */
            for (int f = 0; f < F_COUNT; f++) {
                if (strlen(FIELD_NAMES[f]) != key.len || memcmp(FIELD_NAMES[f], key.start, key.len))
                    continue;
                if (seen & (1u << f)) return -1; /* duplicate known key */
                seen |= 1u << f;
                fields[f] = value;
            }
            skip_ws(&c);
            if (peek(&c) == ',') { c.pos++; skip_ws(&c); continue; }
            if (peek(&c) == '}') { c.pos++; break; }
            return -1;
        }
    }
    skip_ws(&c);
    if (c.pos != c.len || seen != (1u << F_COUNT) - 1) return -1;

    const Value *device = &fields[F_DEVICE], *ts = &fields[F_TS];
    const Value *value = &fields[F_VALUE], *unit_v = &fields[F_UNIT];
    if (device->type != V_STRING || !is_device_id(device->start, device->len)) return -1;
    if (unit_v->type != V_STRING || value->type != V_NUMBER) return -1;
    const Unit *unit = find_unit(unit_v);
    if (!unit) return -1;
    if (ts->type == V_STRING) {
        if (parse_rfc3339(ts->start, ts->len, &out->ts_ms)) return -1;
    } else if (ts->type == V_NUMBER) {
        if (parse_unix_timestamp(ts, &out->ts_ms)) return -1;
    } else {
        return -1;
    }
    memcpy(out->device, device->start, device->len);
    out->device[device->len] = '\0';
    out->quantity = unit->quantity;
    out->value = to_canonical(unit->name, token_to_double(value->start, value->len));
    return 0;
}
