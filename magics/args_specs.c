/* args_specs.c - every magic's argument spec by name, so a line can be
 * parsed as its magic would parse it without running anything: for the
 * tests, and for the fuzzer, which also checks what each message
 * promises (never cut, valid UTF-8, a usage line). */
#include <stdlib.h>
#include <string.h>

#include "magics/args.h"
#include "magics/magic_int.h"
#include "trellis/timing.h"

static const trl__args_spec *const specs[] = {
    &trl__bench_args,   &trl__bench_cell_args, &trl__compare_args,
    &trl__drift_args,   &trl__features_args,   &trl__importance_args,
    &trl__metrics_args, &trl__models_args,     &trl__promote_args,
    &trl__validate_args};

const trl__args_spec *const *trl__magic_args_specs(size_t *n)
{
    *n = sizeof specs / sizeof specs[0];
    return specs;
}

const trl__args_spec *trl__magic_args_spec(const char *magic)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (strcmp(specs[i]->magic, magic) == 0)
            return specs[i];
    return NULL;
}

int trl__magic_args_check(const char *magic, const char *line,
                          trl_error *err)
{
    const trl__args_spec *spec = trl__magic_args_spec(magic);
    if (!spec)
        return trl_error_set(err, TRL_ENOTFOUND, "%s has no argument spec",
                             magic);
    trl__args a;
    int rc = trl__args_parse(spec, line, &a, err);
    if (rc == 0)
        trl__args_free(&a);
    return rc;
}

/* Strict UTF-8: no overlong forms, surrogates or values past U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2
                   : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4
                                                                     : 0;
        if (!len || i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] > 0x9f) ||
            (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] > 0x8f))
            return 0;
        i += len;
    }
    return 1;
}

/* One spec over line: -1 when a promise is broken. */
static int one(const trl__args_spec *spec, const char *line, int utf8)
{
    trl__args a;
    trl_error err = {0};
    char usage[TRL_ERROR_MAX];
    if (trl__args_parse(spec, line, &a, &err) == 0) {
        const char *texts[8];
        for (size_t i = 0; i < spec->nopts; i++) {
            size_t n = trl__args_texts(&a, i, texts, 8);
            for (size_t k = 0; k < n && k < 8; k++)
                if (!texts[k] || !texts[k][0])
                    return trl__args_free(&a), -1;
        }
        for (size_t i = 0; i < a.npos; i++)
            if (!a.pos[i][0])
                return trl__args_free(&a), -1;
        trl__args_free(&a);
        return 0;
    }
    size_t len = strlen(err.message);
    if (err.code == TRL_ENOMEM)
        return 0;
    if (err.code != TRL_EINVAL || len == 0 || len >= TRL_ERROR_MAX - 1 ||
        trl__args_usage(spec, usage, sizeof usage) >= sizeof usage ||
        !strstr(err.message, usage) || (utf8 && !utf8_valid(
                                            (const unsigned char *)err.message,
                                            len)))
        return -1;
    return 0;
}

int trl__magic_args_fuzz_one(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    int utf8 = utf8_valid(data, strlen(line)), rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof specs / sizeof specs[0]; i++)
        rc = one(specs[i], line, utf8);
    /* timing.c keeps IPython's parser: it only has to survive */
    trl_timeit_opts o;
    trl_error err = {0};
    int trc = trl_timeit_parse(line, &o, &err);
    if (rc == 0 && trc != 0 && trc != TRL_EINVAL)
        rc = -1;
    free(line);
    return rc;
}
