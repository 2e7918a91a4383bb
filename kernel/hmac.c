/* hmac.c - HMAC-SHA256 signing and constant-time verification of the four
 * JSON parts of a Jupyter message. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "kernel/wire.h"

/* Large enough for a long-running kernel, small enough to stay cheap;
 * jupyter_client keeps 2^16 too. */
#define REPLAY_ENTRIES (1u << 16)

int trl__signer_init(trl__signer *s, const char *scheme, const char *key,
                     trl_error *err)
{
    memset(s, 0, sizeof *s);
    /* openssl.cnf has nothing an HMAC needs; skipping it keeps startup and
     * resident memory small. */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    if (key && *key) {
        if (scheme && *scheme && strcmp(scheme, "hmac-sha256") != 0)
            return trl_error_set(err, TRL_EUNSUPPORTED,
                                 "signature_scheme '%s' is not supported "
                                 "(use hmac-sha256)", scheme);
        s->key_len = strlen(key);
        s->key = malloc(s->key_len);
        if (!s->key)
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
        memcpy(s->key, key, s->key_len);
    }
    if (trl__replay_init(&s->replay, REPLAY_ENTRIES) != 0) {
        free(s->key);
        s->key = NULL;
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    return 0;
}

void trl__signer_destroy(trl__signer *s)
{
    if (s->key) {
        OPENSSL_cleanse(s->key, s->key_len);
        free(s->key);
    }
    trl__replay_destroy(&s->replay);
    memset(s, 0, sizeof *s);
}

static int digest(const trl__signer *s, const trl__frame parts[4],
                  unsigned char out[32])
{
    /* One-shot EVP_MAC would need a context per call; HMAC_CTX is
     * deprecated in OpenSSL 3. Concatenating keeps the one-shot HMAC(). */
    size_t total = 0;
    for (int i = 0; i < 4; i++)
        total += parts[i].size;
    unsigned char stackbuf[4096];
    unsigned char *buf = total <= sizeof stackbuf ? stackbuf : malloc(total);
    if (!buf)
        return TRL_ENOMEM;
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        if (parts[i].size)
            memcpy(buf + off, parts[i].data, parts[i].size);
        off += parts[i].size;
    }
    unsigned int len = 32;
    unsigned char *r = HMAC(EVP_sha256(), s->key, (int)s->key_len, buf, total,
                            out, &len);
    if (buf != stackbuf)
        free(buf);
    return r && len == 32 ? 0 : TRL_ENOMEM;
}

int trl__sign(const trl__signer *s, const trl__frame parts[4],
              char hex_out[TRL__SIG_HEX + 1])
{
    static const char hexdigits[] = "0123456789abcdef";
    unsigned char d[32];
    hex_out[0] = '\0';
    if (!s->key_len)
        return 0;
    int rc = digest(s, parts, d);
    if (rc)
        return rc;
    for (int i = 0; i < 32; i++) {
        hex_out[2 * i] = hexdigits[d[i] >> 4];
        hex_out[2 * i + 1] = hexdigits[d[i] & 15];
    }
    hex_out[TRL__SIG_HEX] = '\0';
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int trl__verify(const trl__signer *s, const char *sig, size_t sig_len,
                const trl__frame parts[4], unsigned char digest_out[32],
                trl_error *err)
{
    memset(digest_out, 0, 32);
    if (!s->key_len)
        return 0;
    if (sig_len == 0)
        return trl_error_set(err, TRL_EAUTH, "message is not signed");
    if (sig_len != TRL__SIG_HEX)
        return trl_error_set(err, TRL_EAUTH,
                             "signature has %zu characters, expected 64",
                             sig_len);
    unsigned char given[32];
    for (int i = 0; i < 32; i++) {
        int hi = hexval((unsigned char)sig[2 * i]);
        int lo = hexval((unsigned char)sig[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return trl_error_set(err, TRL_EAUTH, "signature is not hex");
        given[i] = (unsigned char)(hi << 4 | lo);
    }
    unsigned char expect[32];
    if (digest(s, parts, expect) != 0)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    if (CRYPTO_memcmp(given, expect, 32) != 0)
        return trl_error_set(err, TRL_EAUTH, "invalid signature");
    memcpy(digest_out, expect, 32);
    return 0;
}
