/* wire.h - private: Jupyter wire messages (frames, signatures, headers). */
#ifndef TRELLIS_KERNEL_WIRE_H
#define TRELLIS_KERNEL_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <jansson.h>

#include "trellis/error.h"

#define TRL__DELIMITER "<IDS|MSG>"
#define TRL__SIG_HEX 64  /* hmac-sha256 as lowercase hex */

/* One frame of a multipart message; data owned by whoever owns the frame. */
typedef struct trl__frame {
    char *data;
    size_t size;
} trl__frame;

/* A growable list of frames that owns their data. */
typedef struct trl__frames {
    trl__frame *v;
    size_t n;
    size_t cap;
} trl__frames;

int trl__frames_push(trl__frames *f, const void *data, size_t size);
int trl__frames_copy(trl__frames *dst, const trl__frames *src);
void trl__frames_clear(trl__frames *f);

/* ---- signatures ---------------------------------------------------------- */

/* Seen-signature set, as jupyter_client's digest_history: a signature may be
 * accepted once. Bounded: it keeps at most max signatures and always the
 * newest max/2; the table is allocated once. Safe to share between
 * threads. */
typedef struct trl__replay {
    pthread_mutex_t lock;
    uint64_t *slots;     /* open addressing, 0 = empty: a digest folded to
                          * 64 bits, its top bit replaced by the entry's
                          * generation */
    size_t cap;          /* power of two, >= 2 * max: at most half full */
    size_t max;          /* entries kept at most */
    size_t gen_size;     /* entries per generation: max / 2 */
    size_t count;        /* entries in both generations */
    size_t current;      /* entries in the current generation */
    uint64_t gen;        /* the current generation: 0 or the top bit */
} trl__replay;

int trl__replay_init(trl__replay *r, size_t max_entries);
void trl__replay_destroy(trl__replay *r);
/* Returns 1 if digest was seen before, else records it and returns 0;
 * TRL_ENOMEM never happens after init. */
int trl__replay_check_add(trl__replay *r, const unsigned char digest[32]);

/* The key and scheme from the connection file. An empty key means messages
 * are neither signed nor checked. */
typedef struct trl__signer {
    unsigned char *key;
    size_t key_len;
    trl__replay replay;
} trl__signer;

int trl__signer_init(trl__signer *s, const char *scheme, const char *key,
                     trl_error *err);
void trl__signer_destroy(trl__signer *s);

/* Writes the lowercase-hex HMAC-SHA256 of the four parts (NUL-terminated,
 * TRL__SIG_HEX + 1 bytes) into hex_out, or "" when unsigned. */
int trl__sign(const trl__signer *s, const trl__frame parts[4],
              char hex_out[TRL__SIG_HEX + 1]);

/* Checks sig against the parts in constant time. 0 when valid (or when the
 * signer has no key), TRL_EAUTH with a message otherwise. Does not consult
 * the replay set. */
int trl__verify(const trl__signer *s, const char *sig, size_t sig_len,
                const trl__frame parts[4], unsigned char digest_out[32],
                trl_error *err);

/* ---- messages ------------------------------------------------------------ */

typedef struct trl__msg {
    trl__frames idents;      /* routing identities, or the iopub topic */
    json_t *header;          /* owned references; never NULL once decoded */
    json_t *parent_header;
    json_t *metadata;
    json_t *content;
    trl__frames buffers;     /* raw buffers after the content frame */
} trl__msg;

void trl__msg_clear(trl__msg *m);

/* Decodes a multipart message: identities up to the delimiter, signature,
 * four JSON objects, buffers. Checks the signature and the replay set.
 * Fails with TRL_EPROTO (no delimiter, missing frames, a frame that is not a
 * JSON object, a header without msg_id or msg_type) or TRL_EAUTH (bad or
 * missing signature, replay); out is then left empty. frames are not
 * modified. */
int trl__wire_decode(const trl__frame *frames, size_t n, trl__signer *s,
                     trl__msg *out, trl_error *err);

/* Encodes m into frames (appended to out): identities, delimiter, signature,
 * compact JSON of the four dicts, buffers. m is not modified. */
int trl__wire_encode(const trl__msg *m, const trl__signer *s,
                     trl__frames *out, trl_error *err);

/* ---- headers ------------------------------------------------------------- */

/* Writes the current UTC time as ISO 8601 with exactly six fractional
 * digits and a Z: "2026-11-26T23:24:59.000123Z" (27 bytes + NUL). */
void trl__iso_now(char out[32]);

/* Writes a fresh random UUID, lowercase with dashes (36 bytes + NUL). */
void trl__uuid(char out[37]);

/* Returns a new header object for msg_type in the given session. */
json_t *trl__header_new(const char *msg_type, const char *session,
                        const char *username);

/* Initialises out as a message of msg_type answering parent: new header,
 * parent_header = parent's header, metadata {}, content = content_new
 * (stolen; NULL means {}), identities copied from parent when copy_idents. */
int trl__msg_init_reply(trl__msg *out, const trl__msg *parent,
                        const char *msg_type, json_t *content_new,
                        const char *session, int copy_idents);

/* The msg_type of a decoded message (borrowed), or "" if absent. */
const char *trl__msg_type(const trl__msg *m);

#endif
