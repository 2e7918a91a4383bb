/* bench_stats.c - what a benchmark reads from its samples and from the
 * process: percentiles as NumPy computes them, the resident memory and its
 * peak from /proc, and a description of the machine for the record. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <jansson.h>

#include "registry/bench_int.h"
#include "registry/registry_int.h"

double trl__bench_quantile(const uint64_t *sorted, size_t n, double q)
{
    if (n == 0)
        return NAN;
    if (q <= 0)
        return (double)sorted[0];
    if (q >= 1)
        return (double)sorted[n - 1];
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double a = (double)sorted[lo], b = (double)sorted[hi];
    double t = pos - (double)lo;
    /* numpy's _lerp: from the nearer end, so the result never leaves
     * [a, b] through rounding */
    return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

int trl__bench_sort(uint64_t *ns, size_t n)
{
    return trl__radix_sort_keys(ns, n);
}

double trl__bench_status_mb(const char *key)
{
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp)
        return NAN;
    char line[256];
    size_t klen = strlen(key);
    double mb = NAN;
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            long long kb = strtoll(line + klen + 1, NULL, 10);
            mb = (double)kb / 1024.0;
            break;
        }
    fclose(fp);
    return mb;
}

int trl__bench_reset_peak(void)
{
    /* "5" resets VmHWM to the current RSS (proc(5), Linux 4.0+) */
    FILE *fp = fopen("/proc/self/clear_refs", "w");
    if (!fp)
        return -1;
    int ok = fputs("5", fp) >= 0;
    ok = fclose(fp) == 0 && ok;
    return ok ? 0 : -1;
}

/* The first "model name" of /proc/cpuinfo, or "" (other architectures
 * name it differently; the record then says less). */
static void cpu_name(char *out, size_t size)
{
    out[0] = '\0';
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp)
        return;
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        const char *v = strchr(line, ':');
        if (!v)
            break;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        snprintf(out, size, "%s", v);
        out[strcspn(out, "\n")] = '\0';
        break;
    }
    fclose(fp);
}

/* s as a JSON string, or null when it is not UTF-8 (text from the
 * system need not be). */
static json_t *text(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    return j ? j : json_null();
}

json_t *trl__bench_host(void)
{
    char cpu[256], system[400] = "";
    cpu_name(cpu, sizeof cpu);
    struct utsname u;
    const char *host = NULL;
    if (uname(&u) == 0) {
        snprintf(system, sizeof system, "%s %s %s", u.sysname, u.release,
                 u.machine);
        host = u.nodename;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return json_pack("{s:I, s:o, s:o, s:o}", "cpus",
                     (json_int_t)(cpus > 0 ? cpus : 1), "cpu",
                     text(cpu[0] ? cpu : NULL), "system",
                     text(system[0] ? system : NULL), "hostname", text(host));
}
