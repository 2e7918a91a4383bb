/* connection.c - parsing the connection file: transport, ip, five ports,
 * key and signature scheme. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <jansson.h>

#include "kernel/connection.h"

static const char *port_names[TRL__CH_COUNT] = {
    "shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"};

const char *trl__channel_port_name(trl__channel ch)
{
    return port_names[ch];
}

static int copy_str(json_t *root, const char *name, const char *dflt,
                    char *dst, size_t size, trl_error *err)
{
    json_t *v = json_object_get(root, name);
    const char *s = dflt;
    if (v) {
        if (!json_is_string(v))
            return trl_error_set(err, TRL_EINVAL,
                                 "connection file: '%s' must be a string",
                                 name);
        s = json_string_value(v);
    }
    if (!s)
        return trl_error_set(err, TRL_EINVAL,
                             "connection file: '%s' is missing", name);
    if (strlen(s) >= size)
        return trl_error_set(err, TRL_EINVAL,
                             "connection file: '%s' is too long", name);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int trl__connection_parse(const char *text, size_t len, trl__connection *out,
                          trl_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root)
        return trl_error_set(err, TRL_EINVAL,
                             "connection file: line %d, column %d: %s",
                             jerr.line, jerr.column, jerr.text);
    int rc = TRL_EINVAL;
    if (!json_is_object(root)) {
        trl_error_set(err, rc, "connection file: not a JSON object");
        goto done;
    }
    if ((rc = copy_str(root, "transport", "tcp", out->transport,
                       sizeof out->transport, err)) ||
        (rc = copy_str(root, "ip", "127.0.0.1", out->ip, sizeof out->ip,
                       err)) ||
        (rc = copy_str(root, "signature_scheme", "hmac-sha256", out->scheme,
                       sizeof out->scheme, err)))
        goto done;
    rc = TRL_EINVAL;
    if (strcmp(out->transport, "tcp") != 0 &&
        strcmp(out->transport, "ipc") != 0) {
        trl_error_set(err, rc, "connection file: transport '%s' is not "
                      "supported (tcp or ipc)", out->transport);
        goto done;
    }
    if (!out->ip[0]) {
        trl_error_set(err, rc, "connection file: 'ip' is empty");
        goto done;
    }
    for (int ch = 0; ch < TRL__CH_COUNT; ch++) {
        json_t *p = json_object_get(root, port_names[ch]);
        if (!json_is_integer(p) || json_integer_value(p) < 1 ||
            json_integer_value(p) > 65535) {
            trl_error_set(err, rc, "connection file: '%s' must be an integer "
                          "port from 1 to 65535", port_names[ch]);
            goto done;
        }
        out->ports[ch] = (int)json_integer_value(p);
    }
    json_t *key = json_object_get(root, "key");
    if (key && !json_is_string(key)) {
        trl_error_set(err, rc, "connection file: 'key' must be a string");
        goto done;
    }
    out->key = strdup(key ? json_string_value(key) : "");
    if (!out->key) {
        rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto done;
    }
    if (out->key[0] && strcmp(out->scheme, "hmac-sha256") != 0) {
        trl_error_set(err, rc, "connection file: signature_scheme '%s' is "
                      "not supported (hmac-sha256)", out->scheme);
        goto done;
    }
    rc = 0;
done:
    json_decref(root);
    if (rc)
        trl__connection_free(out);
    return rc;
}

int trl__connection_load(const char *path, trl__connection *out,
                         trl_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return trl_error_set(err, TRL_EIO, "cannot open connection file "
                             "'%s': %m", path);
    /* A connection file is a few hundred bytes; 1 MiB means a wrong path. */
    char *buf = malloc(1 << 20);
    if (!buf) {
        fclose(f);
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        /* the check below must not be skipped: fail closed */
        int rc = trl_error_set(err, TRL_EIO, "cannot read the mode of "
                               "connection file '%s': %m", path);
        fclose(f);
        free(buf);
        return rc;
    }
    size_t n = fread(buf, 1, 1 << 20, f);
    int too_big = n == (1 << 20);
    fclose(f);
    int rc;
    if (too_big)
        rc = trl_error_set(err, TRL_EINVAL, "connection file '%s' is larger "
                           "than 1 MiB", path);
    else
        rc = trl__connection_parse(buf, n, out, err);
    free(buf);
    if (rc == 0)
        out->mode = (unsigned)st.st_mode;
    return rc;
}

static int is_loopback(const trl__connection *c)
{
    return strcmp(c->transport, "ipc") == 0 ||
           strncmp(c->ip, "127.", 4) == 0 || strcmp(c->ip, "::1") == 0 ||
           strcmp(c->ip, "localhost") == 0;
}

/* The key is what stands between the sockets and running code as this
 * user, so a key every local user can read protects nothing: we refuse,
 * where ipykernel starts silently. jupyter_client writes the file 0600,
 * so only a hand-made or copied file trips this. */
int trl__connection_check_mode(const trl__connection *c, const char *path,
                               unsigned mode, int allow_shared,
                               char *warning, size_t wsize, trl_error *err)
{
    if (wsize)
        warning[0] = '\0';
    if (!c->key[0]) {
        if (!is_loopback(c))
            snprintf(warning, wsize, "the connection file '%s' has no key: "
                     "messages are not signed, so anyone who can reach %s "
                     "can run code as you", path, c->ip);
        return 0;
    }
    /* reading the key lets one run code; writing the file lets one
     * point the next kernel at other ports or a known key */
    const char *how = (mode & S_IROTH) ? "read its key" : "rewrite it";
    if (mode & (S_IROTH | S_IWOTH)) {
        if (allow_shared) {
            snprintf(warning, wsize, "the connection file '%s' (mode %04o) "
                     "lets every user %s; starting anyway "
                     "(TRELLIS_ALLOW_SHARED_CONNECTION_FILE=1)", path,
                     mode & 07777, how);
            return 0;
        }
        return trl_error_set(err, TRL_EAUTH, "the connection file '%s' "
                             "(mode %04o) lets every user on this machine "
                             "%s, and so run code as you. Make it private "
                             "(chmod 600 '%s'), or set "
                             "TRELLIS_ALLOW_SHARED_CONNECTION_FILE=1 to "
                             "start anyway", path, mode & 07777, how, path);
    }
    if (mode & (S_IRGRP | S_IWGRP))
        snprintf(warning, wsize, "the connection file '%s' (mode %04o) lets "
                 "its group %s, and so run code as you", path,
                 mode & 07777, (mode & S_IRGRP) ? "read the key"
                                                : "rewrite it");
    return 0;
}

void trl__connection_free(trl__connection *c)
{
    free(c->key);
    c->key = NULL;
}

int trl__connection_endpoint(const trl__connection *c, trl__channel ch,
                             char *buf, size_t size)
{
    int n;
    if (strcmp(c->transport, "ipc") == 0)
        n = snprintf(buf, size, "ipc://%s-%d", c->ip, c->ports[ch]);
    else if (strchr(c->ip, ':'))  /* IPv6 literal */
        n = snprintf(buf, size, "tcp://[%s]:%d", c->ip, c->ports[ch]);
    else
        n = snprintf(buf, size, "tcp://%s:%d", c->ip, c->ports[ch]);
    return n < 0 || (size_t)n >= size ? TRL_EINVAL : 0;
}
