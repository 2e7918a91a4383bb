/* replay.c - runs a fuzz target's entry point over saved inputs without
 * libFuzzer: `replay_NAME DIR|FILE...` feeds every file (directories are
 * read one level deep, in name order) to LLVMFuzzerTestOneInput. ctest
 * replays each seed corpus and each crash kept under regressions/ in every
 * build, so an input that once crashed stays a test, also under ASan. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the whole file; NULL (and a message) when it cannot. */
static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n < cap)
            continue;
        cap *= 2;
        uint8_t *bigger = realloc(buf, cap);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        return NULL;
    }
    *size = n;
    return buf;
}

static int run_file(const char *path)
{
    size_t size;
    uint8_t *data = slurp(path, &size);
    if (!data)
        return -1;
    /* an exact-size copy, so ASan sees a read one byte past the input */
    uint8_t *exact = malloc(size ? size : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, size);
    free(data);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
    int failed = 0;
    long runs = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            if (errno == ENOENT && strstr(argv[i], "regressions"))
                continue;  /* a target with no saved crash yet */
            perror(argv[i]);
            failed = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed |= run_file(argv[i]) != 0;
            runs++;
            continue;
        }
        struct dirent **names;
        int n = scandir(argv[i], &names, NULL, by_name);
        if (n < 0) {
            perror(argv[i]);
            failed = 1;
            continue;
        }
        for (int j = 0; j < n; j++) {
            char path[4096];
            int len = snprintf(path, sizeof path, "%s/%s", argv[i],
                               names[j]->d_name);
            if (len < 0 || (size_t)len >= sizeof path) {
                fprintf(stderr, "%s/%s: path too long\n", argv[i],
                        names[j]->d_name);
                failed = 1;
            } else if (names[j]->d_name[0] != '.' && stat(path, &st) == 0 &&
                       S_ISREG(st.st_mode)) {
                failed |= run_file(path) != 0;
                runs++;
            }
            free(names[j]);
        }
        free(names);
    }
    printf("%ld inputs replayed\n", runs);
    return failed || runs == 0;
}
