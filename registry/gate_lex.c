/* gate_lex.c - the tokens of a gate expression: numbers, names and terms
 * (auc@holdout@2), quoted feature names, operators; with a column and a
 * hint for each character that is not part of the language. One pass,
 * no backtracking: linear in the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/gate_int.h"

int trl__gate_column(const char *text, size_t off)
{
    int col = 1;
    for (size_t i = 0; i < off; i++)
        col += ((unsigned char)text[i] & 0xC0) != 0x80;
    return col;
}

int trl__gate_is(const char *text, size_t len, const char *kw)
{
    return strlen(kw) == len && memcmp(text, kw, len) == 0;
}

int trl__gate_utf8_ok(const unsigned char *s, size_t len, size_t *bad)
{
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n = c < 0x80         ? 1
                   : (c >> 5) == 6  ? 2
                   : (c >> 4) == 14 ? 3
                   : (c >> 3) == 30 ? 4
                                    : 0;
        if (c == 0 || n == 0 || i + n > len || (n == 2 && c < 0xC2) ||
            (n == 4 && c > 0xF4)) {
            *bad = i;
            return 0;
        }
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80) {
                *bad = i;
                return 0;
            }
        /* overlong 3/4-byte forms, surrogates and past U+10FFFF */
        if ((n == 3 && ((c == 0xE0 && s[i + 1] < 0xA0) ||
                        (c == 0xED && s[i + 1] >= 0xA0))) ||
            (n == 4 && ((c == 0xF0 && s[i + 1] < 0x90) ||
                        (c == 0xF4 && s[i + 1] >= 0x90)))) {
            *bad = i;
            return 0;
        }
        i += n;
    }
    return 1;
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_name(int c)
{
    return is_alpha(c) || is_digit(c);
}

static int has_control(const char *s, const char *end)
{
    for (; s < end; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int fail(trl_error *err, const char *text, size_t at, const char *msg)
{
    return trl_error_set(err, TRL_EINVAL, "column %d: %s",
                         trl__gate_column(text, at), msg);
}

/* A name, then '@' parts (names or digits) with nothing between them. */
static int lex_name(const char *s, size_t len, size_t *i, trl__token *t,
                    trl_error *err)
{
    size_t j = *i;
    while (j < len && is_name((unsigned char)s[j]))
        j++;
    t->kind = TRL__T_WORD;
    while (j < len && s[j] == '@') {
        size_t part = j + 1;
        if (part < len && is_alpha((unsigned char)s[part])) {
            while (part < len && is_name((unsigned char)s[part]))
                part++;
        } else if (part < len && is_digit((unsigned char)s[part])) {
            while (part < len && is_digit((unsigned char)s[part]))
                part++;
            if (part < len && is_alpha((unsigned char)s[part]))
                return fail(err, s, j + 1,
                            "after '@' give a name or a "
                            "whole number, as in auc@holdout or "
                            "auc@holdout@2");
        } else {
            return fail(err, s, j,
                        "expected a name or a number after '@' "
                        "(write terms without spaces: auc@holdout)");
        }
        t->kind = TRL__T_TERM;
        j = part;
    }
    *i = j;
    return 0;
}

/* 12, 0.5, .5, 1e-3: digits with an optional fraction and exponent. A
 * number may not run into a name ("5ms"). */
static int lex_number(const char *s, size_t len, size_t *i, trl_error *err)
{
    size_t j = *i, digits = 0;
    while (j < len && is_digit((unsigned char)s[j]))
        j++, digits++;
    if (j < len && s[j] == '.') {
        j++;
        while (j < len && is_digit((unsigned char)s[j]))
            j++, digits++;
    }
    if (digits == 0)
        return fail(err, s, *i, "expected digits after '.'");
    if (j < len && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < len && (s[k] == '+' || s[k] == '-'))
            k++;
        if (k < len && is_digit((unsigned char)s[k])) {
            while (k < len && is_digit((unsigned char)s[k]))
                k++;
            j = k;
        }
    }
    if (j < len &&
        (is_alpha((unsigned char)s[j]) || s[j] == '.' || s[j] == '@'))
        return fail(err, s, *i,
                    "this is not a number: numbers are plain "
                    "(5, 0.002, 1e-3) and units belong to the figure's "
                    "name (p99_ms)");
    *i = j;
    return 0;
}

/* Operators; a hint for the spellings of other languages. */
static int lex_operator(const char *s, size_t len, size_t *i, trl__token *t,
                        trl_error *err)
{
    size_t j = *i;
    char c = s[j], next = j + 1 < len ? s[j + 1] : '\0';
    static const char singles[] = "(),+-*/";
    static const trl__t_kind kinds[] = {TRL__T_LP,   TRL__T_RP,    TRL__T_COMMA,
                                        TRL__T_PLUS, TRL__T_MINUS, TRL__T_STAR,
                                        TRL__T_SLASH};
    const char *single = c ? strchr(singles, c) : NULL;
    if (single) {
        t->kind = kinds[single - singles];
        *i = j + 1;
        return 0;
    }
    t->kind = TRL__T_CMP;
    if (c == '<' || c == '>') {
        int eq = next == '=';
        t->op = c == '<' ? (eq ? TRL__G_LE : TRL__G_LT)
                         : (eq ? TRL__G_GE : TRL__G_GT);
        *i = j + 1 + (size_t)eq;
        return 0;
    }
    if ((c == '=' || c == '!') && next == '=') {
        t->op = c == '=' ? TRL__G_EQ : TRL__G_NE;
        *i = j + 2;
        return 0;
    }
    if (c == '=')
        return fail(err, s, j,
                    "'=' alone is not an operator: compare with "
                    "'==' (or >=, <=)");
    if (c == '!')
        return fail(err, s, j,
                    "write 'not' for negation ('!' only as "
                    "in '!=')");
    if (c == '&')
        return fail(err, s, j, "write 'and' to join conditions");
    if (c == '|')
        return fail(err, s, j, "write 'or' to join conditions");
    char msg[120];
    if ((unsigned char)c < 0x20 || c == 0x7f)
        snprintf(msg, sizeof msg, "unexpected control character 0x%02X",
                 (unsigned)(unsigned char)c);
    else if ((unsigned char)c >= 0x80)
        snprintf(msg, sizeof msg,
                 "unexpected character: outside quotes a "
                 "gate is plain ASCII");
    else
        snprintf(msg, sizeof msg, "unexpected character '%c'", c);
    return fail(err, s, j, msg);
}

int trl__gate_lex(const char *text, size_t len, trl__token **out, size_t *n,
                  trl_error *err)
{
    /* every token takes at least one byte, plus the end */
    trl__token *t = malloc((len + 1) * sizeof *t);
    size_t count = 0, i = 0;
    if (!t)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    for (;;) {
        while (i < len && (text[i] == ' ' || text[i] == '\t' ||
                           text[i] == '\n' || text[i] == '\r'))
            i++;
        trl__token *k = &t[count];
        memset(k, 0, sizeof *k);
        k->start = i;
        if (i == len) {
            k->kind = TRL__T_EOF;
            k->end = len;
            count++;
            break;
        }
        unsigned char c = (unsigned char)text[i];
        int rc;
        if (is_alpha(c)) {
            rc = lex_name(text, len, &i, k, err);
        } else if (is_digit(c) || (c == '.' && i + 1 < len &&
                                   is_digit((unsigned char)text[i + 1]))) {
            k->kind = TRL__T_NUM;
            rc = lex_number(text, len, &i, err);
        } else if (c == '\'' || c == '"') {
            const char *close = memchr(text + i + 1, c, len - i - 1);
            if (!close) {
                rc = fail(err, text, i, "this quote is never closed");
            } else if (close == text + i + 1) {
                rc = fail(err, text, i, "an empty name in quotes");
            } else if (has_control(text + i + 1, close)) {
                rc = fail(err, text, i, "a control character in quotes");
            } else {
                k->kind = TRL__T_STR;
                i = (size_t)(close - text) + 1;
                rc = 0;
            }
        } else {
            rc = lex_operator(text, len, &i, k, err);
        }
        if (rc != 0) {
            free(t);
            return rc;
        }
        k->end = i;
        count++;
    }
    *out = t;
    *n = count;
    return 0;
}
