/* py_api.c - finding libpython at run time and resolving the functions the
 * Python engine calls, so that a kernel without Python still runs and a
 * %%python cell says how to get it. */
#define _GNU_SOURCE /* dladdr: where the dynamic linker found the library */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engines/python/py_int.h"

/* How a user turns Python on, said by every "not found" message. */
#define HOW_TO_ENABLE                                                        \
    "To enable Python cells, install Debian's Python runtime (apt-get "      \
    "install libpython3-dev) or set TRELLIS_LIBPYTHON to the path of a "     \
    "libpython3.X.so.1.0 (Python 3.10 or newer), then restart the kernel."

/* Oldest and newest 3.x tried when the system's python3 does not say. */
#define MINOR_MIN 10
#define MINOR_MAX 14

static size_t add_pair(char names[][64], size_t k, size_t n, int minor)
{
    /* the runtime package ships .so.1.0; the -dev package adds .so */
    if (k < n)
        snprintf(names[k++], 64, "libpython3.%d.so.1.0", minor);
    if (k < n)
        snprintf(names[k++], 64, "libpython3.%d.so", minor);
    return k;
}

size_t trl__py_candidates(const char *python3_target, char names[][64],
                          size_t n)
{
    size_t k = 0;
    int sys_minor = -1;
    if (python3_target) {
        const char *base = strrchr(python3_target, '/');
        base = base ? base + 1 : python3_target;
        char tail;
        if (sscanf(base, "python3.%d%c", &sys_minor, &tail) != 1 ||
            sys_minor < 0 || sys_minor > 99)
            sys_minor = -1;
    }
    if (sys_minor >= 0)
        k = add_pair(names, k, n, sys_minor);
    for (int m = MINOR_MAX; m >= MINOR_MIN; m--)
        if (m != sys_minor)
            k = add_pair(names, k, n, m);
    return k;
}

int trl__py_minor(const char *version)
{
    int major, minor;
    if (!version || sscanf(version, "%d.%d", &major, &minor) != 2 ||
        major != 3 || minor < 0)
        return -1;
    return minor;
}

int trl__py_find_prefix(const char *libdir, int minor, char *prefix,
                        size_t size)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", libdir) >= (int)sizeof dir)
        return TRL_ENOTFOUND;
    for (int up = 0; up < 3 && dir[0]; up++) {
        char landmark[PATH_MAX + 32];
        snprintf(landmark, sizeof landmark, "%s/lib/python3.%d/os.py",
                 strcmp(dir, "/") == 0 ? "" : dir, minor);
        if (access(landmark, R_OK) == 0) {
            if (snprintf(prefix, size, "%s", dir) >= (int)size)
                return TRL_ENOTFOUND;
            return 0;
        }
        char *slash = strrchr(dir, '/');
        if (!slash)
            break;
        if (slash == dir)
            slash[1] = '\0';  /* up to "/" */
        else
            *slash = '\0';
    }
    return TRL_ENOTFOUND;
}

/* The names tried, for the message: "a, b, c". */
static void join_names(char names[][64], size_t n, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s",
                                 i ? ", " : "", names[i]);
}

static void *open_lib(const char *name)
{
    /* GLOBAL: extension modules (numpy's) are not linked against
     * libpython and find its symbols in the global namespace. */
    return dlopen(name, RTLD_NOW | RTLD_GLOBAL);
}

static void *find_lib(char *path, size_t size, trl_error *err)
{
    const char *forced = getenv("TRELLIS_LIBPYTHON");
    if (forced && *forced) {
        void *lib = open_lib(forced);
        if (!lib)
            trl_error_set(err, TRL_ENOTFOUND, "Python is not available: "
                          "TRELLIS_LIBPYTHON=%s cannot be loaded (%s). "
                          HOW_TO_ENABLE, forced, dlerror());
        snprintf(path, size, "%s", forced);
        return lib;
    }
    char target[PATH_MAX];
    ssize_t len = readlink("/usr/bin/python3", target, sizeof target - 1);
    if (len >= 0)
        target[len] = '\0';
    char names[2 * (MINOR_MAX - MINOR_MIN + 2)][64];
    size_t n = trl__py_candidates(len >= 0 ? target : NULL, names,
                                  sizeof names / sizeof names[0]);
    for (size_t i = 0; i < n; i++) {
        void *lib = open_lib(names[i]);
        if (lib) {
            snprintf(path, size, "%s", names[i]);
            return lib;
        }
    }
    char tried[1024];
    join_names(names, n, tried, sizeof tried);
    trl_error_set(err, TRL_ENOTFOUND, "Python is not available: no "
                  "libpython was found (tried %s). " HOW_TO_ENABLE, tried);
    return NULL;
}

/* Resolves every required function; the name of the first missing one,
 * or NULL when all are there. */
static const char *resolve(trl__py_api *api)
{
    void *sym;
#define TRL__PY_RESOLVE(ret, name, params)                                   \
    if (!(sym = dlsym(api->lib, #name)))                                     \
        return #name;                                                        \
    memcpy(&api->name, &sym, sizeof sym);
    TRL__PY_FUNCTIONS(TRL__PY_RESOLVE)
#undef TRL__PY_RESOLVE
    if ((sym = dlsym(api->lib, "Py_SetProgramName")))
        memcpy(&api->Py_SetProgramName, &sym, sizeof sym);
    api->Py_UTF8Mode = dlsym(api->lib, "Py_UTF8Mode");
    return NULL;
}

/* Where the standard library is (PYTHONHOME, when set, is the user's
 * word): checked here because an interpreter that cannot find it aborts
 * the whole process in Py_InitializeEx. */
static int check_stdlib(trl__py_api *api, trl_error *err)
{
    const char *home = getenv("PYTHONHOME");
    if (home && *home) {
        snprintf(api->prefix, sizeof api->prefix, "%s", home);
        return 0;
    }
    Dl_info info;
    char real[PATH_MAX];
    if (!dladdr((void *)api->Py_GetVersion, &info) || !info.dli_fname ||
        !realpath(info.dli_fname, real))
        snprintf(real, sizeof real, "/usr/lib/libpython");  /* guess */
    char *slash = strrchr(real, '/');
    if (slash)
        *slash = '\0';
    if (trl__py_find_prefix(real, api->minor, api->prefix,
                            sizeof api->prefix) == 0)
        return 0;
    /* a copied library still finds the prefix it was built for */
    static const char *const built_for[] = {"/usr/local/lib", "/usr/lib"};
    for (size_t i = 0; i < 2; i++)
        if (trl__py_find_prefix(built_for[i], api->minor, api->prefix,
                                sizeof api->prefix) == 0)
            return 0;
    return trl_error_set(err, TRL_ENOTFOUND, "Python is not available: "
                         "%s (Python 3.%d) has no standard library (no "
                         "lib/python3.%d/os.py in %s, the two directories "
                         "above, /usr/local or /usr). Install it (apt-get install "
                         "libpython3.%d-stdlib) or set PYTHONHOME, then "
                         "restart the kernel.", api->path, api->minor,
                         api->minor, real, api->minor);
}

int trl__py_api_load(trl__py_api *api, trl_error *err)
{
    memset(api, 0, sizeof *api);
    api->lib = find_lib(api->path, sizeof api->path, err);
    if (!api->lib)
        return TRL_ENOTFOUND;
    const char *missing = resolve(api);
    int rc = 0;
    if (missing) {
        rc = trl_error_set(err, TRL_EUNSUPPORTED, "Python is not "
                           "available: %s has no %s; Python cells need "
                           "Python 3.10 or newer. " HOW_TO_ENABLE,
                           api->path, missing);
    } else if ((api->minor = trl__py_minor(api->Py_GetVersion())) <
               MINOR_MIN) {
        rc = trl_error_set(err, TRL_EUNSUPPORTED, "Python is not "
                           "available: %s is Python %.20s; Python cells "
                           "need 3.10 or newer. " HOW_TO_ENABLE, api->path,
                           api->Py_GetVersion());
    } else {
        rc = check_stdlib(api, err);
    }
    if (rc != 0) {
        /* never initialised, so it can go */
        dlclose(api->lib);
        memset(api, 0, sizeof *api);
    }
    return rc;
}
