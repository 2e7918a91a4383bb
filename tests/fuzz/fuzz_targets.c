/* fuzz_targets.c - libFuzzer entry points, one per target, chosen at build
 * time with -DFUZZ_<NAME>: the parsers that take bytes from outside the
 * kernel (a client's messages, a connection file, a CSV file, a gate
 * expression, a magic's arguments). Each must return for any input, leak
 * nothing and never read out of bounds; ASan+UBSan are on in the fuzz
 * build. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/connection.h"
#include "kernel/wire.h"
#include "magics/magic_int.h"
#include "trellis/gate.h"
#include "trellis/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if defined(FUZZ_GATE)
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trl_gate_fuzz_one(data, size);
    return 0;
}
#elif defined(FUZZ_CSV)
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trl_error err = {0};
    trl_frame *f = trl_csv_parse((const char *)data, size, "fuzz.csv", NULL,
                                 &err);
    trl_frame_decref(f);
    return 0;
}
#elif defined(FUZZ_CONNECTION)
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trl__connection c;
    memset(&c, 0, sizeof c);
    trl_error err = {0};
    if (trl__connection_parse((const char *)data, size, &c, &err) == 0)
        trl__connection_free(&c);
    return 0;
}
#elif defined(FUZZ_WIRE)
/* The input is a multipart message, frames separated by the byte 0xFF
 * (which valid UTF-8 JSON never contains), checked with a fixed key as
 * the kernel checks every message it receives. A mutated message almost
 * never carries the right HMAC, so when the first byte is even the frame
 * after the delimiter is replaced by the true signature of the four that
 * follow: the JSON decoding behind the check is fuzzed too. A new signer
 * (and replay set) per input keeps every run of an input the same. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trl__signer signer;
    trl_error err = {0};
    if (trl__signer_init(&signer, "hmac-sha256", "fuzz-key", &err) != 0)
        abort();
    trl__frame frames[64];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 64; i++)
        if (i == size || data[i] == 0xFF) {
            frames[n].data = (char *)data + start;
            frames[n].size = i - start;
            n++;
            start = i + 1;
        }
    char sig[TRL__SIG_HEX + 1];
    for (size_t i = 0; size && data[0] % 2 == 0 && i + 5 < n; i++)
        if (frames[i].size == strlen(TRL__DELIMITER) &&
            memcmp(frames[i].data, TRL__DELIMITER, frames[i].size) == 0) {
            if (trl__sign(&signer, &frames[i + 2], sig) == 0) {
                frames[i + 1].data = sig;
                frames[i + 1].size = strlen(sig);
            }
            break;
        }
    trl__msg m;
    memset(&m, 0, sizeof m);
    if (trl__wire_decode(frames, n, &signer, &m, &err) == 0)
        trl__msg_clear(&m);
    trl__signer_destroy(&signer);
    return 0;
}
#elif defined(FUZZ_MAGIC_ARGS)
/* The input is the rest of a magic's line, parsed with every magic's spec
 * and with %timeit's parser; a broken promise about a message (see
 * trl__magic_args_fuzz_one) is a crash, so libFuzzer keeps the input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (trl__magic_args_fuzz_one(data, size) != 0)
        abort();
    return 0;
}
#else
#error "define one of FUZZ_GATE, FUZZ_CSV, FUZZ_CONNECTION, FUZZ_WIRE, FUZZ_MAGIC_ARGS"
#endif
