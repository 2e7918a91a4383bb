/* header.c - message headers: ids, dates, and replies to a parent. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uuid/uuid.h>

#include "kernel/wire.h"
#include "trellis/version.h"

void trl__iso_now(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    /* Microseconds zero-padded to six digits: clients parse this with
     * fixed-width formats (xeus once emitted ".1234Z" and broke them). */
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06dZ", (int)(ts.tv_nsec / 1000));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void trl__uuid(char out[37])
{
    /* Four ids per cell made by libuuid cost ~16 syscalls; ids only need
     * to be unique, so each thread seeds once from the system's random
     * source and counts on from there. */
    static _Thread_local uint64_t state;
    static _Thread_local int seeded;
    if (!seeded) {
        uuid_t u;
        uuid_generate_random(u);
        memcpy(&state, u, sizeof state);
        seeded = 1;
    }
    uint64_t hi = splitmix64(&state), lo = splitmix64(&state);
    unsigned char b[16];
    memcpy(b, &hi, 8);
    memcpy(b + 8, &lo, 8);
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);  /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);  /* RFC 4122 variant */
    uuid_unparse_lower(b, out);
}

json_t *trl__header_new(const char *msg_type, const char *session,
                        const char *username)
{
    char id[37], date[32];
    trl__uuid(id);
    trl__iso_now(date);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msg_id", id,
                     "session", session, "username", username, "date", date,
                     "msg_type", msg_type, "version", TRL_PROTOCOL_VERSION);
}

int trl__msg_init_reply(trl__msg *out, const trl__msg *parent,
                        const char *msg_type, json_t *content_new,
                        const char *session, int copy_idents)
{
    memset(out, 0, sizeof *out);
    const char *user = NULL;
    if (parent)
        user = json_string_value(json_object_get(parent->header, "username"));
    out->header = trl__header_new(msg_type, session, user ? user : "trellis");
    out->parent_header = parent && parent->header
                             ? json_deep_copy(parent->header)
                             : json_object();
    out->metadata = json_object();
    out->content = content_new ? content_new : json_object();
    if (!out->header || !out->parent_header || !out->metadata ||
        !out->content ||
        (copy_idents && parent &&
         trl__frames_copy(&out->idents, &parent->idents) != 0)) {
        trl__msg_clear(out);
        return TRL_ENOMEM;
    }
    return 0;
}
