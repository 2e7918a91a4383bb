/* wire.c - signed multipart Jupyter messages: encode, decode, verify. */
#include <stdlib.h>
#include <string.h>

#include "kernel/wire.h"

int trl__frames_push(trl__frames *f, const void *data, size_t size)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        trl__frame *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return TRL_ENOMEM;
        f->v = v;
        f->cap = cap;
    }
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return TRL_ENOMEM;
    if (size)
        memcpy(copy, data, size);
    f->v[f->n].data = copy;
    f->v[f->n].size = size;
    f->n++;
    return 0;
}

int trl__frames_copy(trl__frames *dst, const trl__frames *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (trl__frames_push(dst, src->v[i].data, src->v[i].size) != 0)
            return TRL_ENOMEM;
    return 0;
}

void trl__frames_clear(trl__frames *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].data);
    free(f->v);
    memset(f, 0, sizeof *f);
}

void trl__msg_clear(trl__msg *m)
{
    trl__frames_clear(&m->idents);
    trl__frames_clear(&m->buffers);
    json_decref(m->header);
    json_decref(m->parent_header);
    json_decref(m->metadata);
    json_decref(m->content);
    memset(m, 0, sizeof *m);
}

const char *trl__msg_type(const trl__msg *m)
{
    const char *t = json_string_value(json_object_get(m->header, "msg_type"));
    return t ? t : "";
}

static const char *part_names[4] = {"header", "parent_header", "metadata",
                                    "content"};

int trl__wire_decode(const trl__frame *frames, size_t n, trl__signer *s,
                     trl__msg *out, trl_error *err)
{
    memset(out, 0, sizeof *out);
    size_t delim = n;
    for (size_t i = 0; i < n; i++) {
        if (frames[i].size == sizeof TRL__DELIMITER - 1 &&
            memcmp(frames[i].data, TRL__DELIMITER, frames[i].size) == 0) {
            delim = i;
            break;
        }
    }
    if (delim == n)
        return trl_error_set(err, TRL_EPROTO,
                             "no <IDS|MSG> delimiter in %zu frames", n);
    if (n - delim < 6)
        return trl_error_set(err, TRL_EPROTO,
                             "%zu frames after the delimiter, expected at "
                             "least 5 (signature + 4 JSON parts)",
                             n - delim - 1);

    const trl__frame *parts = &frames[delim + 2];
    unsigned char dig[32];
    int rc = trl__verify(s, frames[delim + 1].data, frames[delim + 1].size,
                         parts, dig, err);
    if (rc)
        return rc;

    json_t *dicts[4] = {0};
    for (int i = 0; i < 4; i++) {
        json_error_t jerr;
        /* NUL inside a JSON string is valid JSON: accept it rather than leave
         * a client waiting for a reply that never comes */
        dicts[i] = json_loadb(parts[i].data, parts[i].size, JSON_ALLOW_NUL,
                              &jerr);
        if (!dicts[i] || !json_is_object(dicts[i])) {
            rc = trl_error_set(err, TRL_EPROTO, "%s is not a JSON object%s%s",
                               part_names[i], dicts[i] ? "" : ": ",
                               dicts[i] ? "" : jerr.text);
            goto fail;
        }
    }
    if (!json_is_string(json_object_get(dicts[0], "msg_id")) ||
        !json_is_string(json_object_get(dicts[0], "msg_type"))) {
        rc = trl_error_set(err, TRL_EPROTO,
                           "header lacks a string msg_id or msg_type");
        goto fail;
    }
    /* Only a well-formed, correctly signed message consumes its signature,
     * so garbage cannot evict real entries faster than real traffic. */
    if (trl__replay_check_add(&s->replay, dig)) {
        rc = trl_error_set(err, TRL_EAUTH, "replayed message (signature "
                           "already seen)");
        goto fail;
    }
    for (size_t i = 0; i < delim; i++)
        if (trl__frames_push(&out->idents, frames[i].data, frames[i].size))
            goto oom;
    for (size_t i = delim + 6; i < n; i++)
        if (trl__frames_push(&out->buffers, frames[i].data, frames[i].size))
            goto oom;
    out->header = dicts[0];
    out->parent_header = dicts[1];
    out->metadata = dicts[2];
    out->content = dicts[3];
    return 0;

oom:
    rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
fail:
    for (int i = 0; i < 4; i++)
        json_decref(dicts[i]);
    trl__frames_clear(&out->idents);
    trl__frames_clear(&out->buffers);
    return rc;
}

int trl__wire_encode(const trl__msg *m, const trl__signer *s,
                     trl__frames *out, trl_error *err)
{
    json_t *dicts[4] = {m->header, m->parent_header, m->metadata, m->content};
    trl__frame parts[4] = {0};
    int rc = TRL_ENOMEM;

    for (int i = 0; i < 4; i++) {
        if (!dicts[i]) {
            rc = trl_error_set(err, TRL_EINVAL, "message has no %s",
                               part_names[i]);
            goto done;
        }
        /* ensure_ascii is off: JSON is UTF-8 and clients decode it so */
        parts[i].data = json_dumps(dicts[i], JSON_COMPACT);
        if (!parts[i].data) {
            rc = trl_error_set(err, TRL_EINVAL, "%s cannot be serialised "
                               "(invalid UTF-8?)", part_names[i]);
            goto done;
        }
        parts[i].size = strlen(parts[i].data);
    }
    char sig[TRL__SIG_HEX + 1];
    if (trl__sign(s, parts, sig) != 0)
        goto oom;
    if (trl__frames_copy(out, &m->idents) ||
        trl__frames_push(out, TRL__DELIMITER, sizeof TRL__DELIMITER - 1) ||
        trl__frames_push(out, sig, strlen(sig)))
        goto oom;
    for (int i = 0; i < 4; i++) {
        /* hand the serialised text over instead of copying it */
        if (trl__frames_push(out, "", 0))
            goto oom;
        free(out->v[out->n - 1].data);
        out->v[out->n - 1] = parts[i];
        parts[i].data = NULL;
    }
    if (trl__frames_copy(out, &m->buffers))
        goto oom;
    rc = 0;
    goto done;
oom:
    rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
done:
    for (int i = 0; i < 4; i++)
        free(parts[i].data);
    return rc;
}
