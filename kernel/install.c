/* install.c - writing the kernelspec (kernel.json + logos) where Jupyter
 * clients look for it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "trellis/kernel.h"

static int mkdir_p(const char *path, trl_error *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return trl_error_set(err, TRL_EINVAL, "path too long: %s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return trl_error_set(err, TRL_EIO, "cannot create %s: %s",
                                     buf, strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    return 0;
}

static int copy_file(const char *from, const char *to, trl_error *err)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return 0;  /* logos are optional: clients fall back to none */
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return trl_error_set(err, TRL_EIO, "cannot write %s: %s", to,
                             strerror(errno));
    }
    char buf[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = trl_error_set(err, TRL_EIO, "cannot write %s", to);
    fclose(in);
    if (fclose(out) != 0 && !rc)
        rc = trl_error_set(err, TRL_EIO, "cannot write %s", to);
    return rc;
}

static int target_dir(const trl_install_opts *o, char *buf, size_t size,
                      trl_error *err)
{
    int n;
    if (o->mode == TRL_INSTALL_PREFIX) {
        if (!o->prefix || !*o->prefix)
            return trl_error_set(err, TRL_EINVAL, "--prefix needs a folder");
        n = snprintf(buf, size, "%s/share/jupyter/kernels/trellis",
                     o->prefix);
    } else if (o->mode == TRL_INSTALL_SYS_PREFIX) {
        n = snprintf(buf, size, "/usr/local/share/jupyter/kernels/trellis");
    } else {
        const char *data = getenv("JUPYTER_DATA_DIR");
        const char *xdg = getenv("XDG_DATA_HOME");
        const char *home = getenv("HOME");
        if (data && *data)
            n = snprintf(buf, size, "%s/kernels/trellis", data);
        else if (xdg && *xdg)
            n = snprintf(buf, size, "%s/jupyter/kernels/trellis", xdg);
        else if (home && *home)
            n = snprintf(buf, size, "%s/.local/share/jupyter/kernels/trellis",
                         home);
        else
            return trl_error_set(err, TRL_EINVAL,
                                 "HOME is not set: use --prefix");
    }
    if (n < 0 || (size_t)n >= size)
        return trl_error_set(err, TRL_EINVAL, "install path too long");
    return 0;
}

int trl_kernelspec_install(const trl_install_opts *o, char **path_out,
                           trl_error *err)
{
    char dir[4096], file[4200], src[4200];
    int rc = target_dir(o, dir, sizeof dir, err);
    if (rc || (rc = mkdir_p(dir, err)))
        return rc;
    json_t *spec = json_pack(
        "{s:[s, s, s, s], s:s, s:s, s:s, s:{s:b}}", "argv", o->executable,
        "kernel", "-f", "{connection_file}", "display_name", "Trellis",
        "language", "lua", "interrupt_mode", "signal", "metadata",
        "debugger", 0);
    if (!spec)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    snprintf(file, sizeof file, "%s/kernel.json", dir);
    rc = json_dump_file(spec, file, JSON_INDENT(2)) == 0
             ? 0
             : trl_error_set(err, TRL_EIO, "cannot write %s: %s", file,
                             strerror(errno));
    json_decref(spec);
    static const char *logos[] = {"logo-32x32.png", "logo-64x64.png",
                                  "logo-svg.svg"};
    for (size_t i = 0; !rc && o->source_dir && i < 3; i++) {
        snprintf(src, sizeof src, "%s/%s", o->source_dir, logos[i]);
        snprintf(file, sizeof file, "%s/%s", dir, logos[i]);
        rc = copy_file(src, file, err);
    }
    if (!rc && path_out) {
        *path_out = strdup(dir);
        if (!*path_out)
            rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    return rc;
}
