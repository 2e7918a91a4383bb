/* csv.c - CSV text into frames: RFC 4180 scanning, type inference and
 * conversion in one pass over the bytes. */
#define _XOPEN_SOURCE 700  /* realpath(3) is XSI */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "registry/registry_int.h"

/* How it reads: each field is converted as it is scanned, into a growing
 * array whose type was guessed from the column's first value and widens
 * as values come. i64 becomes f64 in place, exactly ((double)n rounds n as
 * strtod rounds its digits); any other surprise (a word in a number
 * column) makes the column str, and a second pass fills just those
 * columns. Typical files are read once, nothing is kept per field, and
 * peak memory is the input plus the columns. The SHA-256 for the lineage
 * runs on a second thread meanwhile.
 *
 * Choices worth knowing:
 * - No trimming: " 1" is not an integer, so a column holding it is str
 *   (and an overridden numeric column rejects it). What is in the file is
 *   what the column holds.
 * - An empty field is missing, quoted ("") or not, as in pandas.
 * - Numbers are decimal only: strtod's hex floats ("0x1p3") and
 *   "nan(...)" payloads are text, as in Python's float().
 * - Blank lines are skipped (pandas' skip_blank_lines); \r\n, \n and a lone
 *   \r all end a record and a line.
 * - Strict quoting: a quote inside an unquoted field, or text after a
 *   closing quote, is an error rather than guessed at.
 * - A column with no value at all is f64 (all NaN), as in pandas. */

#define IS_DIGIT(c) ((unsigned)(c) - '0' <= 9u)

typedef enum { TOK_FIELD, TOK_LAST, TOK_ERR } tok;

typedef enum {
    BAD_UNCLOSED, BAD_STRAY_QUOTE, BAD_AFTER_QUOTE, BAD_NUL, BAD_UTF8
} bad_kind;

/* One field as found in the input: for a quoted field the bytes between
 * the quotes, doubled quotes still doubled (escaped says so). */
typedef struct {
    const unsigned char *s;
    size_t len;
    int escaped;
    size_t line;       /* physical line where the field starts */
} field;

typedef struct {
    const unsigned char *p, *end;
    size_t line;             /* physical line of p, 1-based */
    unsigned char delim;
    uint8_t stop[256];       /* bytes that end a run in an unquoted field */
    uint8_t qstop[256];      /* same inside quotes */
    bad_kind bad;            /* set with TOK_ERR */
    size_t bad_line;
} scanner;

/* A str column's memo of field bytes -> code, in front of the dictionary:
 * one probe in a flat table with short keys inline, where the dictionary
 * would hash byte by byte and chase three pointers. */
typedef struct {
    uint64_t hash;
    int32_t code;                 /* -1: empty slot */
    uint32_t len;
    unsigned char key[16];        /* the bytes, when len <= 16 */
} memo_slot;

/* A str field waiting for its code: see intern_queued. */
typedef struct {
    const char *s;
    size_t len;
    size_t row;
} pending;

#define QUEUE_LEN 64

typedef enum {
    COL_UNSET,   /* no value seen yet: type not guessed, nothing stored */
    COL_TYPED,   /* data holds rows 0..nrows-1 */
    COL_REDO     /* turned out to be str: the second pass fills it */
} col_state;

typedef struct {
    char *name;          /* owned */
    int forced;          /* a trl_dtype from opts->types, or -1 */
    col_state state;
    trl_dtype type;
    void *data;          /* reader.cap values of type, malloc'd */
    uint8_t *valid;      /* i64: NULL until a value is missing */
    trl_strdict *dict;   /* str */
    memo_slot *memo;     /* str */
    size_t memo_cap, memo_n;
    pending *queue;      /* str: fields not yet looked up */
    size_t queued;
} colinfo;

typedef struct {
    const char *name;    /* of the input, for messages */
    trl_error *err;
    colinfo *cols;
    size_t ncols;
    size_t nrows, cap;   /* rows read; rows the typed arrays hold */
    const unsigned char *body, *end;  /* the records after the header */
    char *scratch;       /* unescaped strings, strtod's NUL-terminated copy */
    size_t scratch_cap;
} reader;

/* ---- errors ---------------------------------------------------------------- */

/* "name line N, column 'x': what". col is 0-based, (size_t)-1 for none;
 * past the header's width the column has no name, only a number. */
__attribute__((format(printf, 5, 6)))
static int fail_at(reader *r, int code, size_t line, size_t col,
                   const char *fmt, ...)
{
    char what[TRL_ERROR_MAX], where[160] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (col != (size_t)-1 && col < r->ncols && r->cols[col].name)
        snprintf(where, sizeof where, ", column '%.100s'", r->cols[col].name);
    else if (col != (size_t)-1)
        snprintf(where, sizeof where, ", column %zu", col + 1);
    return trl_error_set(r->err, code, "%s line %zu%s: %s", r->name, line,
                         where, what);
}

static int oom(reader *r)
{
    return trl_error_set(r->err, TRL_ENOMEM, "%s: out of memory", r->name);
}

/* "'abc' is not a number": up to 40 bytes of the value, cut at a UTF-8
 * boundary. */
static int bad_value(reader *r, size_t col, const field *f, const char *what)
{
    size_t n = f->len;
    if (n > 40) {
        n = 40;
        while (n > 0 && (f->s[n] & 0xC0) == 0x80)
            n--;
    }
    return fail_at(r, TRL_EINVAL, f->line, col, "'%.*s%s' %s", (int)n,
                   (const char *)f->s, n < f->len ? "..." : "", what);
}

/* ---- scanning -------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs,
 * surrogates or code points past U+10FFFF), 0 when ill-formed. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : lo;
        hi = c == 0xED ? 0x9F : hi;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi;
    } else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* Unquoted fields stop on the delimiter, quotes and line ends, and on NUL
 * and non-ASCII bytes to check them; quoted ones on line ends too, to
 * count lines. */
static void scanner_init(scanner *sc, const unsigned char *p,
                         const unsigned char *end, unsigned char delim)
{
    sc->p = p;
    sc->end = end;
    sc->line = 1;
    sc->delim = delim;
    memset(sc->stop, 0, sizeof sc->stop);
    memset(sc->qstop, 0, sizeof sc->qstop);
    sc->stop[delim] = sc->stop['"'] = 1;
    for (int c = 0x80; c < 256; c++)
        sc->stop[c] = sc->qstop[c] = 1;
    sc->stop[0] = sc->stop['\r'] = sc->stop['\n'] = 1;
    sc->qstop[0] = sc->qstop['\r'] = sc->qstop['\n'] = sc->qstop['"'] = 1;
}

/* First byte at or after p that stop[] flags, or end. Eight bytes at a
 * time where the byte order allows: fields are short, so this usually
 * finds the delimiter in one step. */
static inline const unsigned char *find_stop(const scanner *sc,
                                             const unsigned char *p,
                                             const unsigned char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    const uint64_t d = ones * sc->delim;
#define HAS_ZERO(v) (((v) - ones) & ~(v) & highs)
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        /* a flag is exact at the lowest flagged byte, all we use */
        uint64_t m = (x & highs) | HAS_ZERO(x) | HAS_ZERO(x ^ d) |
                     HAS_ZERO(x ^ (ones * '"')) | HAS_ZERO(x ^ (ones * '\n')) |
                     HAS_ZERO(x ^ (ones * '\r'));
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#undef HAS_ZERO
#endif
    while (p < end && !sc->stop[*p])
        p++;
    return p;
}

/* Consumes one line end (\r\n, \n or \r) at p. */
static void eat_eol(scanner *sc)
{
    if (*sc->p++ == '\r' && sc->p < sc->end && *sc->p == '\n')
        sc->p++;
    sc->line++;
}

/* Skips blank lines before a record; 0 at the end of the input. */
static int next_record(scanner *sc)
{
    while (sc->p < sc->end && (*sc->p == '\n' || *sc->p == '\r'))
        eat_eol(sc);
    return sc->p < sc->end;
}

static tok scan_error(scanner *sc, bad_kind kind, size_t line)
{
    sc->bad = kind;
    sc->bad_line = line;
    return TOK_ERR;
}

/* next_field for everything but a plain field ended by a delimiter or a
 * line end: quotes, NUL, non-ASCII bytes, the end of the input. */
static tok next_field_slow(scanner *sc, field *f)
{
    const unsigned char *p = sc->p, *end = sc->end;
    if (p < end && *p == '"') {
        const unsigned char *start = ++p;
        for (;;) {
            while (p < end && !sc->qstop[*p])
                p++;
            if (p == end)
                return scan_error(sc, BAD_UNCLOSED, f->line);
            unsigned c = *p;
            if (c == '"') {
                if (p + 1 < end && p[1] == '"') {
                    f->escaped = 1;
                    p += 2;
                    continue;
                }
                break;
            }
            if (c == '\n' || c == '\r') {
                p += (c == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
                sc->line++;
            } else if (c == 0) {
                return scan_error(sc, BAD_NUL, sc->line);
            } else {
                size_t n = utf8_seq(p, end);
                if (!n)
                    return scan_error(sc, BAD_UTF8, sc->line);
                p += n;
            }
        }
        f->s = start;
        f->len = (size_t)(p - start);
        sc->p = ++p;
        if (p == end)
            return TOK_LAST;
        if (*p == sc->delim) {
            sc->p++;
            return TOK_FIELD;
        }
        if (*p == '\n' || *p == '\r') {
            eat_eol(sc);
            return TOK_LAST;
        }
        return scan_error(sc, BAD_AFTER_QUOTE, sc->line);
    }
    const unsigned char *start = p;
    for (;;) {
        p = find_stop(sc, p, end);
        f->s = start;
        f->len = (size_t)(p - start);
        sc->p = p;
        if (p == end)
            return TOK_LAST;
        unsigned c = *p;
        if (c == sc->delim) {
            sc->p++;
            return TOK_FIELD;
        }
        if (c == '\n' || c == '\r') {
            eat_eol(sc);
            return TOK_LAST;
        }
        if (c == '"')
            return scan_error(sc, BAD_STRAY_QUOTE, sc->line);
        if (c == 0)
            return scan_error(sc, BAD_NUL, sc->line);
        size_t n = utf8_seq(p, end);
        if (!n)
            return scan_error(sc, BAD_UTF8, sc->line);
        p += n;
    }
}

/* Reads the field at p: TOK_FIELD when a delimiter follows, TOK_LAST when
 * the record ends, TOK_ERR with sc->bad set. */
static inline tok next_field(scanner *sc, field *f)
{
    const unsigned char *p = sc->p, *end = sc->end;
    f->line = sc->line;
    f->escaped = 0;
    if (p < end && *p != '"') {
        const unsigned char *q = find_stop(sc, p, end);
        if (q < end && (*q == sc->delim || *q == '\n')) {
            f->s = p;
            f->len = (size_t)(q - p);
            sc->p = q + 1;
            if (*q == sc->delim)
                return TOK_FIELD;
            sc->line++;
            return TOK_LAST;
        }
    }
    return next_field_slow(sc, f);
}

static int scan_fail(reader *r, const scanner *sc, size_t col)
{
    static const char *what[] = {
        [BAD_UNCLOSED] = "quote opened here is never closed",
        [BAD_STRAY_QUOTE] = ("quote inside an unquoted field (quote the "
                             "whole field and double the quotes in it)"),
        [BAD_AFTER_QUOTE] = "text after the closing quote of a field",
        [BAD_NUL] = "contains a NUL byte: not a text CSV file",
        [BAD_UTF8] = "invalid UTF-8"};
    return fail_at(r, TRL_EINVAL, sc->bad_line, col, "%s", what[sc->bad]);
}

/* ---- values ---------------------------------------------------------------- */

/* 1 and *out for an integer ([+-]digits), 0 when not one, -1 when it has
 * the form but does not fit in int64. */
static int parse_i64(const unsigned char *s, size_t len, int64_t *out)
{
    size_t i = len && (s[0] == '+' || s[0] == '-');
    int neg = i && s[0] == '-', overflow = 0;
    if (i == len)
        return 0;
    uint64_t v = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned)s[i] - '0';
        if (d > 9)
            return 0;
        /* 1844674407370955161 * 10 + 5 is UINT64_MAX */
        if (v > 1844674407370955161u || (v == 1844674407370955161u && d > 5))
            overflow = 1;
        v = v * 10 + d;
    }
    if (overflow || v > (uint64_t)INT64_MAX + neg)
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;  /* -2^63 wraps exactly */
    return 1;
}

static int ieq(const unsigned char *s, size_t len, const char *lower)
{
    size_t n = strlen(lower);
    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != (unsigned char)lower[i])
            return 0;
    return 1;
}

/* 1 and *out (0/1) for true/false in any case, else 0. */
static int parse_bool(const unsigned char *s, size_t len, uint8_t *out)
{
    *out = len == 4;
    return ieq(s, len, "true") || ieq(s, len, "false");
}

/* The scratch buffer grown to at least n bytes. */
static char *scratch(reader *r, size_t n)
{
    if (n > r->scratch_cap) {
        size_t cap = r->scratch_cap ? r->scratch_cap : 256;
        while (cap < n)
            cap *= 2;
        char *p = realloc(r->scratch, cap);
        if (!p)
            return NULL;
        r->scratch = p;
        r->scratch_cap = cap;
    }
    return r->scratch;
}

/* Powers of ten exact as doubles (to 1e22) and as uint64 (to 1e19). */
static const double pow10_f64[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 u128;

/* q * 2^e2, rounded to nearest even as one IEEE operation would; sticky
 * says non-zero bits lie below q. q >= 2^63, and the result is a normal
 * double for every caller. */
static double round_u128(u128 q, int e2, int sticky)
{
    uint64_t hi = (uint64_t)(q >> 64);
    int top = hi ? 127 - __builtin_clzll(hi)
                 : 63 - __builtin_clzll((uint64_t)q);
    int drop = top - 52;  /* keep 53 bits */
    uint64_t mant = (uint64_t)(q >> drop);
    u128 rest = q & (((u128)1 << drop) - 1), half = (u128)1 << (drop - 1);
    int exp2 = e2 + drop + 52 + 1023;  /* biased exponent of mant's top */
    if (rest > half || (rest == half && (sticky || (mant & 1))))
        mant++;
    if (mant >> 53) {  /* the carry reached a new power of two */
        mant >>= 1;
        exp2++;
    }
    uint64_t bits = (uint64_t)exp2 << 52 | (mant & ((1ull << 52) - 1));
    double v;
    memcpy(&v, &bits, 8);
    return v;
}
#endif

/* 1 and *out when s is a decimal number strtod reads whole ([+-] digits
 * [. digits] [e [+-] digits], or inf, infinity, nan in any case), 0 when
 * not, -1 when out of memory. The result is always strtod's, correctly
 * rounded: Clinger's fast path when the digits are <= 2^53 and the power
 * of ten is exact (one IEEE operation on exact values); for up to 19
 * digits and 10^-19..10^19 an exact 128-bit product or quotient rounded
 * once; strtod, in the C locale (see read_rows), for the rest. */
static int parse_f64(reader *r, const unsigned char *s, size_t len,
                     double *out)
{
    size_t i = len && (s[0] == '+' || s[0] == '-'), sig = 0, ndig = 0;
    int neg = i && s[0] == '-';
    long frac = 0, e = 0;
    uint64_t w = 0;  /* wraps past 19 digits, but then sig says strtod */
    for (; i < len && IS_DIGIT(s[i]); i++, ndig++) {
        w = w * 10 + (s[i] - '0');
        sig += w != 0;
    }
    if (i < len && s[i] == '.')
        for (i++; i < len && IS_DIGIT(s[i]); i++, ndig++, frac++) {
            w = w * 10 + (s[i] - '0');
            sig += w != 0;
        }
    if (!ndig) {
        const unsigned char *t = s + i;
        size_t n = len - i;
        if (ieq(t, n, "inf") || ieq(t, n, "infinity"))
            *out = neg ? -INFINITY : INFINITY;
        else if (ieq(t, n, "nan"))
            *out = neg ? -NAN : NAN;
        else
            return 0;
        return 1;
    }
    if (i < len && (s[i] | 0x20) == 'e') {
        int eneg = ++i < len && s[i] == '-';
        i += i < len && (s[i] == '+' || s[i] == '-');
        if (i == len || !IS_DIGIT(s[i]))
            return 0;
        for (; i < len && IS_DIGIT(s[i]); i++)
            if (e < 100000)  /* far past any double: strtod decides */
                e = e * 10 + (s[i] - '0');
        e = eneg ? -e : e;
    }
    if (i != len)
        return 0;
    long q = e - frac;
    double v;
    if (sig == 0)
        v = 0;
#if FLT_EVAL_METHOD == 0
    else if (sig <= 19 && w <= (1ull << 53) && q >= -22 && q <= 22)
        v = q < 0 ? (double)w / pow10_f64[-q] : (double)w * pow10_f64[q];
#if defined(__SIZEOF_INT128__)
    else if (sig <= 19 && q >= 0 && q <= 19) {
        u128 p = (u128)w * (uint64_t)pow10_f64[q];
        v = p >> 63 ? round_u128(p, 0, 0) : (double)(uint64_t)p;
    } else if (sig <= 19 && q < 0 && q >= -19) {
        /* w shifted to bit 127 over 10^-q: a quotient of 64+ bits */
        int lz = __builtin_clzll(w);
        u128 n = (u128)(w << lz) << 64, d = (uint64_t)pow10_f64[-q];
        v = round_u128(n / d, -64 - lz, n % d != 0);
    }
#endif
#endif
    else {
        char *buf = scratch(r, len + 1);
        if (!buf)
            return -1;
        memcpy(buf, s, len);
        buf[len] = '\0';
        *out = strtod(buf, NULL);
        return 1;
    }
    *out = neg ? -v : v;
    return 1;
}

/* The field's text with doubled quotes undoubled, in the scratch buffer. */
static const char *unescape(reader *r, const field *f, size_t *len)
{
    if (!f->escaped) {
        *len = f->len;
        return (const char *)f->s;
    }
    char *out = scratch(r, f->len + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < f->len; i++) {
        out[n++] = (char)f->s[i];
        i += f->s[i] == '"';  /* the second of a doubled pair */
    }
    *len = n;
    return out;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0x9E3779B97F4A7C15u ^ len, w;
    for (; len >= 8; s += 8, len -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9u;
        h ^= h >> 31;
    }
    for (w = 0; len > 0; len--)
        w = w << 8 | (unsigned char)s[len - 1];
    h = (h ^ w) * 0x94D049BB133111EBu;
    return h ^ (h >> 29);
}

static int memo_grow(colinfo *ci)
{
    size_t cap = ci->memo_cap ? ci->memo_cap * 2 : 64;
    /* slots on cache lines: one miss per lookup, not two */
    memo_slot *m = aligned_alloc(64, cap * sizeof *m);
    if (!m)
        return -1;
    for (size_t i = 0; i < cap; i++)
        m[i].code = -1;
    for (size_t i = 0; i < ci->memo_cap; i++) {
        if (ci->memo[i].code < 0)
            continue;
        size_t j = ci->memo[i].hash & (cap - 1);
        while (m[j].code >= 0)
            j = (j + 1) & (cap - 1);
        m[j] = ci->memo[i];
    }
    free(ci->memo);
    ci->memo = m;
    ci->memo_cap = cap;
    return 0;
}

/* The code of s, whose hash is h, from the memo or else the dictionary;
 * -1 when out of memory. The memo has room (see intern_queued). */
static int32_t memo_code(colinfo *ci, const char *s, size_t len, uint64_t h)
{
    for (size_t i = h & (ci->memo_cap - 1);; i = (i + 1) & (ci->memo_cap - 1)) {
        memo_slot *m = &ci->memo[i];
        if (m->code < 0) {
            if ((m->code = trl_strdict_intern(ci->dict, s, len)) < 0)
                return -1;
            m->hash = h;
            m->len = (uint32_t)len;
            memcpy(m->key, s, len < sizeof m->key ? len : sizeof m->key);
            ci->memo_n++;
            return m->code;
        }
        if (m->hash == h && m->len == len &&
            memcmp(len <= sizeof m->key ? (const char *)m->key
                                        : ci->dict->strs[m->code], s, len) == 0)
            return m->code;
    }
}

/* Looks up the queued fields of a str column. A memo larger than the
 * cache misses on nearly every lookup; hashing a batch first and
 * prefetching its slots lets those misses overlap. */
static int intern_queued(reader *r, colinfo *ci)
{
    uint64_t h[QUEUE_LEN];
    while ((ci->memo_n + ci->queued) * 2 > ci->memo_cap)
        if (memo_grow(ci))
            return oom(r);
    for (size_t i = 0; i < ci->queued; i++) {
        h[i] = hash_bytes(ci->queue[i].s, ci->queue[i].len);
#if defined(__GNUC__)
        __builtin_prefetch(&ci->memo[h[i] & (ci->memo_cap - 1)]);
#endif
    }
    for (size_t i = 0; i < ci->queued; i++) {
        const pending *q = &ci->queue[i];
        int32_t code = memo_code(ci, q->s, q->len, h[i]);
        if (code < 0)
            return oom(r);
        ((int32_t *)ci->data)[q->row] = code;
    }
    ci->queued = 0;
    return 0;
}

/* Sets row of a str column to the code of f's text, now or (usually)
 * with the next batch. */
static int intern(reader *r, colinfo *ci, size_t row, const field *f)
{
    if (!ci->queue && !(ci->queue = malloc(QUEUE_LEN * sizeof *ci->queue)))
        return oom(r);
    if (ci->queued == QUEUE_LEN && intern_queued(r, ci))
        return TRL_ENOMEM;
    if (f->escaped || f->len > UINT32_MAX) {
        /* the text is in the scratch buffer, or too long for the memo;
         * the queue goes first so codes follow first appearance */
        if (ci->queued && intern_queued(r, ci))
            return TRL_ENOMEM;
        size_t len;
        const char *s = unescape(r, f, &len);
        int32_t code = s ? trl_strdict_intern(ci->dict, s, len) : -1;
        if (code < 0)
            return oom(r);
        ((int32_t *)ci->data)[row] = code;
        return 0;
    }
    ci->queue[ci->queued++] = (pending){(const char *)f->s, f->len, row};
    return 0;
}

/* Looks up what every str column still has queued. */
static int intern_all(reader *r)
{
    for (size_t j = 0; j < r->ncols; j++)
        if (r->cols[j].queued && intern_queued(r, &r->cols[j]))
            return TRL_ENOMEM;
    return 0;
}

/* ---- the header ------------------------------------------------------------ */

static int cmp_name(const void *a, const void *b)
{
    const colinfo *x = *(colinfo *const *)a, *y = *(colinfo *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x < y ? -1 : x > y);
}

/* Reads the header (or, without one, counts the first record's fields and
 * names them c1, c2, ...), leaving sc at the first data record. */
static int read_names(reader *r, scanner *sc, int header)
{
    size_t cap = 16, n = 0, line = sc->line;
    scanner peek = *sc;
    if (!(r->cols = calloc(cap, sizeof *r->cols)))
        return oom(r);
    for (tok t = TOK_FIELD; t == TOK_FIELD;) {
        field f;
        if ((t = next_field(&peek, &f)) == TOK_ERR)
            return scan_fail(r, &peek, n);
        if (n == cap) {
            colinfo *c = realloc(r->cols, 2 * cap * sizeof *c);
            if (!c)
                return oom(r);
            memset(c + cap, 0, cap * sizeof *c);
            r->cols = c;
            cap *= 2;
        }
        colinfo *ci = &r->cols[n++];
        r->ncols = n;
        ci->forced = -1;
        size_t len;
        const char *s = header ? unescape(r, &f, &len) : "";
        if (!s || !(ci->name = malloc(header ? len + 1 : 24)))
            return oom(r);
        if (header) {
            memcpy(ci->name, s, len);
            ci->name[len] = '\0';
        } else
            snprintf(ci->name, 24, "c%zu", n);
    }
    if (header)
        *sc = peek;
    for (size_t i = 0; i < n; i++)
        if (!r->cols[i].name[0])
            return fail_at(r, TRL_EINVAL, line, (size_t)-1,
                           "column %zu has an empty name", i + 1);
    colinfo **sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return oom(r);
    for (size_t i = 0; i < n; i++)
        sorted[i] = &r->cols[i];
    qsort(sorted, n, sizeof *sorted, cmp_name);
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++)
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0)
            rc = fail_at(r, TRL_EINVAL, line, (size_t)-1, "duplicate column "
                         "name '%.100s' (columns %zu and %zu)",
                         sorted[i]->name,
                         (size_t)(sorted[i - 1] - r->cols) + 1,
                         (size_t)(sorted[i] - r->cols) + 1);
    free(sorted);
    return rc;
}

static int apply_types(reader *r, json_t *types)
{
    if (!types)
        return 0;
    if (!json_is_object(types))
        return trl_error_set(r->err, TRL_EINVAL, "%s: types must be an "
                             "object {\"column\": \"f64\"|\"i64\"|\"bool\"|"
                             "\"str\"}", r->name);
    const char *key;
    json_t *val;
    json_object_foreach(types, key, val) {
        size_t j = 0;
        while (j < r->ncols && strcmp(r->cols[j].name, key) != 0)
            j++;
        if (j == r->ncols)
            return trl_error_set(r->err, TRL_EINVAL, "%s: types names "
                                 "column '%.100s', which the file does not "
                                 "have", r->name, key);
        const char *t = json_string_value(val);
        int k = 0;
        while (k < 4 && !(t && strcmp(t, trl_dtype_name((trl_dtype)k)) == 0))
            k++;
        if (k == 4)
            return trl_error_set(r->err, TRL_EINVAL, "%s: type of column "
                                 "'%.100s' must be \"f64\", \"i64\", \"bool\" "
                                 "or \"str\"", r->name, key);
        r->cols[j].forced = k;
    }
    return 0;
}

/* ---- columns as they grow -------------------------------------------------- */

static size_t width(trl_dtype t)
{
    return t == TRL_BOOL ? 1 : t == TRL_STR ? sizeof(int32_t) : 8;
}

/* Row row of a typed column set missing. */
static int put_missing(reader *r, colinfo *ci, size_t row)
{
    switch (ci->type) {
    case TRL_F64: ((double *)ci->data)[row] = NAN; break;
    case TRL_BOOL: ((uint8_t *)ci->data)[row] = TRL_BOOL_MISSING; break;
    case TRL_STR: ((int32_t *)ci->data)[row] = -1; break;
    case TRL_I64:
        ((int64_t *)ci->data)[row] = 0;
        if (!ci->valid) {
            if (!(ci->valid = malloc(r->cap)))
                return oom(r);
            memset(ci->valid, 1, row);
        }
        ci->valid[row] = 0;
        break;
    }
    return 0;
}

/* Makes ci a column of type holding `rows` missing rows. */
static int col_start(reader *r, colinfo *ci, trl_dtype type, size_t rows)
{
    ci->type = type;
    ci->state = COL_TYPED;
    if (!(ci->data = malloc((r->cap ? r->cap : 1) * width(type))) ||
        (type == TRL_STR && !(ci->dict = trl_strdict_new())))
        return oom(r);
    for (size_t i = 0; i < rows; i++)
        if (put_missing(r, ci, i))
            return TRL_ENOMEM;
    return 0;
}

/* The guess from a column's first value: the narrowest type it fits. */
static int guess_type(reader *r, const field *f, trl_dtype *type)
{
    int64_t n;
    double x;
    uint8_t b;
    int rc = 0;
    if (parse_i64(f->s, f->len, &n) == 1)
        *type = TRL_I64;
    else if ((rc = parse_f64(r, f->s, f->len, &x)) == 1)
        *type = TRL_F64;
    else
        *type = parse_bool(f->s, f->len, &b) ? TRL_BOOL : TRL_STR;
    return rc < 0 ? oom(r) : 0;
}

/* An i64 column turned f64 in place, up to row. */
static void promote_f64(colinfo *ci, size_t row)
{
    unsigned char *p = ci->data;
    for (size_t i = 0; i < row; i++) {
        int64_t n;
        memcpy(&n, p + 8 * i, 8);
        double x = ci->valid && !ci->valid[i] ? NAN : (double)n;
        memcpy(p + 8 * i, &x, 8);
    }
    free(ci->valid);
    ci->valid = NULL;
    ci->type = TRL_F64;
}

/* A column that holds text after all: the second pass reads it as str. */
static void col_redo(colinfo *ci)
{
    free(ci->data);
    free(ci->valid);
    ci->data = NULL;
    ci->valid = NULL;
    ci->state = COL_REDO;
    ci->type = TRL_STR;
}

/* Room for more rows in every typed column. The guess from the bytes read
 * so far usually makes this the last growth, so little is copied. */
static int grow(reader *r, const scanner *sc)
{
    size_t done = (size_t)(sc->p - r->body), total = (size_t)(r->end - r->body);
    double guess = done ? (double)r->nrows * (double)total / (double)done
                        : 0;
    size_t cap = r->cap + r->cap / 2 + 1024;
    if (guess * 1.05 + 1024 > (double)cap && guess < (double)(SIZE_MAX / 16))
        cap = (size_t)(guess * 1.05) + 1024;
    /* a record takes at least ncols bytes (delimiters and a line end), so
     * a small or wide input never reserves more rows than it can hold */
    if (!r->cap && total / r->ncols + 1 < cap)
        cap = total / r->ncols + 1;
    for (size_t j = 0; j < r->ncols; j++) {
        colinfo *ci = &r->cols[j];
        if (ci->state != COL_TYPED)
            continue;
        void *d = realloc(ci->data, cap * width(ci->type));
        if (!d)
            return oom(r);
        ci->data = d;
        if (ci->valid) {
            uint8_t *v = realloc(ci->valid, cap);
            if (!v)
                return oom(r);
            ci->valid = v;
        }
    }
    r->cap = cap;
    return 0;
}

/* Stores field f at row of column j, guessing or widening its type. */
static int take_field(reader *r, size_t j, size_t row, const field *f)
{
    colinfo *ci = &r->cols[j];
    if (ci->state == COL_REDO)
        return 0;
    if (f->len == 0)
        return ci->state == COL_TYPED ? put_missing(r, ci, row) : 0;
    if (ci->state == COL_UNSET) {
        trl_dtype type = (trl_dtype)ci->forced;
        if ((ci->forced < 0 && guess_type(r, f, &type)) ||
            col_start(r, ci, type, row))
            return TRL_ENOMEM;
    }
    int rc;
    switch (ci->type) {
    case TRL_I64:
        if ((rc = parse_i64(f->s, f->len, (int64_t *)ci->data + row)) == 1) {
            if (ci->valid)
                ci->valid[row] = 1;
            return 0;
        }
        if (ci->forced >= 0)
            return bad_value(r, j, f, rc ? "is out of the int64 range"
                                         : "is not an integer");
        promote_f64(ci, row);  /* the value may still be a number */
        /* fall through */
    case TRL_F64:
        if ((rc = parse_f64(r, f->s, f->len, (double *)ci->data + row)) == 1)
            return 0;
        if (rc < 0)
            return oom(r);
        if (ci->forced >= 0)
            return bad_value(r, j, f, "is not a number");
        break;
    case TRL_BOOL:
        if (parse_bool(f->s, f->len, (uint8_t *)ci->data + row))
            return 0;
        if (ci->forced >= 0)
            return bad_value(r, j, f, "is not true/false");
        break;
    case TRL_STR:
        return intern(r, ci, row, f);
    }
    col_redo(ci);
    return 0;
}

/* The first (usually only) pass: checks every byte and record, fills the
 * columns. */
static int read_rows(reader *r, scanner *sc)
{
    while (next_record(sc)) {
        if (r->nrows == r->cap && grow(r, sc))
            return TRL_ENOMEM;
        size_t line = sc->line, j = 0;
        for (tok t = TOK_FIELD; t == TOK_FIELD; j++) {
            field f;
            if ((t = next_field(sc, &f)) == TOK_ERR)
                return scan_fail(r, sc, j);
            int rc = j < r->ncols ? take_field(r, j, r->nrows, &f) : 0;
            if (rc)
                return rc;
        }
        if (j != r->ncols)
            return fail_at(r, TRL_EINVAL, line, (size_t)-1, "%zu field%s, "
                           "expected %zu", j, j == 1 ? "" : "s", r->ncols);
        if (++r->nrows % TRL__POLL_ROWS == 0 && trl__registry_interrupted())
            return trl__registry_interrupt_error(r->err);
    }
    return intern_all(r);
}

/* The second pass, for columns that turned out to be str: the input is
 * known good, so only their fields are looked at. */
static int redo_rows(reader *r, scanner *sc)
{
    int any = 0;
    for (size_t j = 0; j < r->ncols; j++) {
        colinfo *ci = &r->cols[j];
        if (ci->state != COL_REDO)
            continue;
        if (col_start(r, ci, TRL_STR, r->nrows))
            return TRL_ENOMEM;
        ci->state = COL_REDO;  /* still to fill */
        any = 1;
    }
    for (size_t row = 0; any && next_record(sc); row++) {
        for (size_t j = 0; j < r->ncols; j++) {
            field f;
            colinfo *ci = &r->cols[j];
            next_field(sc, &f);
            if (ci->state == COL_REDO && f.len && intern(r, ci, row, &f))
                return TRL_ENOMEM;
        }
        if ((row + 1) % TRL__POLL_ROWS == 0 && trl__registry_interrupted())
            return trl__registry_interrupt_error(r->err);
    }
    if (intern_all(r))
        return TRL_ENOMEM;
    for (size_t j = 0; j < r->ncols; j++)
        if (r->cols[j].state == COL_REDO)
            r->cols[j].state = COL_TYPED;
    return 0;
}

/* Column j as a trl_column of exactly nrows rows, taking its arrays. */
static trl_column *finish_column(reader *r, colinfo *ci)
{
    if (ci->state == COL_UNSET &&
        col_start(r, ci, ci->forced >= 0 ? (trl_dtype)ci->forced : TRL_F64,
                  r->nrows))
        return NULL;
    trl_column *c = trl_column_new(ci->type, 0, ci->dict);
    if (!c)
        return NULL;
    void *d = realloc(ci->data, (r->nrows ? r->nrows : 1) * width(ci->type));
    free(c->v.f64);  /* the placeholder for zero rows */
    c->v.f64 = d ? d : ci->data;
    ci->data = NULL;
    c->len = r->nrows;
    c->valid = ci->valid;
    ci->valid = NULL;
    return c;
}

/* ---- lineage --------------------------------------------------------------- */

/* SHA-256 of the input, on a thread of its own for inputs large enough
 * to be worth it, and abandoned when the read fails. */
typedef struct {
    const unsigned char *data;
    size_t len;
    unsigned char md[32];
    int ok;
    atomic_int stop;
    int threaded;
    pthread_t thread;
} hasher;

static void *hash_run(void *arg)
{
    hasher *h = arg;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t off = 0; ok && off < h->len; off += (size_t)1 << 22) {
        if (atomic_load(&h->stop))
            ok = 0;
        else {
            size_t n = h->len - off < (size_t)1 << 22 ? h->len - off
                                                      : (size_t)1 << 22;
            ok = EVP_DigestUpdate(ctx, h->data + off, n);
        }
    }
    h->ok = ok && EVP_DigestFinal_ex(ctx, h->md, NULL);
    EVP_MD_CTX_free(ctx);
    return NULL;
}

static void hash_start(hasher *h, const unsigned char *data, size_t len)
{
    h->data = data;
    h->len = len;
    h->ok = 0;
    atomic_init(&h->stop, 0);
    h->threaded = len >= ((size_t)1 << 20) &&
                  pthread_create(&h->thread, NULL, hash_run, h) == 0;
}

/* Waits for the digest (or, with abandon, stops it); 1 when md holds it. */
static int hash_finish(hasher *h, int abandon)
{
    if (h->threaded) {
        atomic_store(&h->stop, abandon);
        pthread_join(h->thread, NULL);
    } else if (!abandon)
        hash_run(h);
    return h->ok && !abandon;
}

static json_t *lineage(const char *path, const unsigned char *md,
                       size_t rows)
{
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    /* a path that is not UTF-8 cannot be a JSON string: recorded as null */
    json_t *p = json_string(path);
    return json_pack("{s:s, s:o, s:s, s:I}", "source", "csv", "path",
                     p ? p : json_null(), "sha256", hex, "rows",
                     (json_int_t)rows);
}

/* ---- the whole ------------------------------------------------------------- */

static void reader_free(reader *r)
{
    for (size_t j = 0; j < r->ncols; j++) {
        colinfo *ci = &r->cols[j];
        free(ci->name);
        free(ci->data);
        free(ci->valid);
        free(ci->memo);
        free(ci->queue);
        trl_strdict_decref(ci->dict);
    }
    free(r->cols);
    free(r->scratch);
}

/* The frame of the columns read, or NULL with r->err set. */
static trl_frame *build_frame(reader *r, const char *path, hasher *h)
{
    trl_frame *f = trl_frame_new();
    int rc = f ? 0 : oom(r);
    for (size_t j = 0; !rc && j < r->ncols; j++) {
        trl_column *c = finish_column(r, &r->cols[j]);
        rc = c ? trl_frame_set(f, r->cols[j].name, c, r->err) : oom(r);
        trl_column_decref(c);
    }
    json_t *lin = hash_finish(h, rc != 0) ? lineage(path, h->md, r->nrows)
                                          : NULL;
    if (!lin) {
        if (!rc)
            oom(r);
        trl_frame_decref(f);
        return NULL;
    }
    f->nrows = r->nrows;
    trl_frame_set_lineage(f, lin);
    return f;
}

/* Parses data into a frame; path goes into the lineage. */
static trl_frame *parse(const unsigned char *data, size_t len,
                        const char *name, const char *path,
                        const trl_csv_options *opts, trl_error *err)
{
    trl_csv_options o = {',', 1, NULL};
    if (opts)
        o = *opts;
    unsigned char delim = o.delimiter ? (unsigned char)o.delimiter : ',';
    if (delim == '"' || delim == '\r' || delim == '\n' || delim >= 0x80) {
        trl_error_set(err, TRL_EINVAL, "%s: the delimiter cannot be a "
                      "quote, a line end or a non-ASCII byte", name);
        return NULL;
    }
    const unsigned char *end = data + len;
    scanner sc;
    scanner_init(&sc, data, end, delim);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        sc.p += 3;
    if (!next_record(&sc)) {
        trl_error_set(err, TRL_EINVAL, "%s is empty%s", name,
                      o.header ? ": no header row" : "");
        return NULL;
    }
    reader r = {.name = name, .err = err, .end = end};
    hasher h;
    hash_start(&h, data, len);
    /* strtod reads the decimal point of the current locale; the file's is
     * always '.', whatever a notebook set with os.setlocale. */
    locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
    trl_frame *f = NULL;
    int rc = read_names(&r, &sc, o.header);
    rc = rc ? rc : apply_types(&r, o.types);
    if (!rc) {
        r.body = sc.p;
        size_t body_line = sc.line;
        rc = read_rows(&r, &sc);
        sc.p = r.body;
        sc.line = body_line;
        rc = rc ? rc : redo_rows(&r, &sc);
    }
    if (c_locale) {
        uselocale(old);
        freelocale(c_locale);
    }
    if (rc)
        hash_finish(&h, 1);
    else
        f = build_frame(&r, path, &h);
    reader_free(&r);
    return f;
}

trl_frame *trl_csv_parse(const char *data, size_t len, const char *name,
                         const trl_csv_options *opts, trl_error *err)
{
    if (!name)
        name = "<csv>";
    return parse((const unsigned char *)(data ? data : ""), data ? len : 0,
                 name, name, opts, err);
}

/* The whole of fd by read(2), for what cannot be mapped (pipes, /proc). */
static unsigned char *slurp(int fd, size_t hint, size_t *len)
{
    size_t cap = hint >= 65536 ? hint + 1 : 65536, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            unsigned char *b = realloc(buf, cap * 2);
            if (!b)
                break;
            buf = b;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got == 0) {
            *len = n;
            return buf;
        }
        if (got < 0 && errno != EINTR)
            break;
        n += got > 0 ? (size_t)got : 0;
    }
    free(buf);
    return NULL;
}

trl_frame *trl_csv_read(const char *path, const trl_csv_options *opts,
                        trl_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        trl_error_set(err, TRL_EIO, "cannot open '%s': %s", path,
                      strerror(errno));
        return NULL;
    }
    struct stat st;
    int bad = fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (bad) {
        trl_error_set(err, TRL_EIO, "cannot read '%s': %s", path,
                      strerror(bad));
        close(fd);
        return NULL;
    }
    size_t len = 0;
    unsigned char *buf = NULL;
    void *map = MAP_FAILED;
    if (S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uintmax_t)st.st_size <= SIZE_MAX) {
        len = (size_t)st.st_size;
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map != MAP_FAILED)
            posix_madvise(map, len, POSIX_MADV_SEQUENTIAL);
    }
    if (map == MAP_FAILED) {
        errno = 0;
        buf = slurp(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, &len);
        if (!buf) {
            int e = errno && errno != ENOMEM ? errno : 0;
            trl_error_set(err, e ? TRL_EIO : TRL_ENOMEM, "cannot read '%s': "
                          "%s", path, e ? strerror(e) : "out of memory");
            close(fd);
            return NULL;
        }
    }
    close(fd);
    char *abs = realpath(path, NULL);
    trl_frame *f = parse(buf ? buf : map, len, path, abs ? abs : path,
                         opts, err);
    free(abs);
    if (buf)
        free(buf);
    else
        munmap(map, len);
    return f;
}
