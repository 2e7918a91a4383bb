/* main.c - the trellis command: run the kernel, install its kernelspec. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>

#include "trellis/kernel.h"
#include "trellis/version.h"

static const char usage[] =
    "Usage:\n"
    "  trellis kernel -f CONNECTION_FILE   run the kernel (Jupyter starts it)\n"
    "  trellis install [--user | --prefix PREFIX | --sys-prefix] [--exe PATH]\n"
    "                                      install the kernelspec 'trellis'\n"
    "                                      (default --user)\n"
    "  trellis --version                   print the version\n"
    "  trellis --help                      print this help\n"
    "\n"
    "Environment:\n"
    "  TRELLIS_HISTORY       history database (default\n"
    "                        ~/.local/share/trellis/history.sqlite)\n"
    "  TRELLIS_REGISTRY      feature registry database, or :memory: (default\n"
    "                        ~/.local/share/trellis/registry.sqlite)\n"
    "  TRELLIS_LUA_MEMORY    Lua memory limit, e.g. 2G (default RAM / 4)\n"
    "  TRELLIS_MAX_MESSAGE   largest accepted message in bytes (256 MiB)\n";

static int file_exists(const char *p)
{
    return access(p, R_OK) == 0;
}

/* Where the logos come from: the installed data dir, else the source tree
 * this binary was built from. */
static const char *spec_source(void)
{
    static char buf[PATH_MAX + 64];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, sizeof buf,
                     "%s/../share/trellis/kernelspec/trellis", exe);
            if (file_exists(buf))
                return buf;
        }
    }
    if (file_exists(TRELLIS_SOURCE_DIR "/kernelspec/trellis"))
        return TRELLIS_SOURCE_DIR "/kernelspec/trellis";
    return NULL;
}

static int cmd_install(int argc, char **argv)
{
    trl_install_opts o = {TRL_INSTALL_USER, NULL, NULL, spec_source()};
    char exe[PATH_MAX];
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--user") == 0) {
            o.mode = TRL_INSTALL_USER;
        } else if (strcmp(argv[i], "--sys-prefix") == 0) {
            o.mode = TRL_INSTALL_SYS_PREFIX;
        } else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) {
            o.mode = TRL_INSTALL_PREFIX;
            o.prefix = argv[++i];
        } else if (strcmp(argv[i], "--exe") == 0 && i + 1 < argc) {
            o.executable = argv[++i];
        } else {
            fprintf(stderr, "trellis install: unknown option '%s'\n%s",
                    argv[i], usage);
            return 2;
        }
    }
    if (!o.executable) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) {
            fprintf(stderr, "trellis install: cannot find my own path; "
                    "pass --exe\n");
            return 1;
        }
        exe[n] = '\0';
        o.executable = exe;
    }
    char *dir = NULL;
    trl_error err;
    if (trl_kernelspec_install(&o, &dir, &err) != 0) {
        fprintf(stderr, "trellis install: %s\n", err.message);
        return 1;
    }
    printf("Installed kernelspec trellis in %s\n", dir);
    free(dir);
    return 0;
}

static int cmd_kernel(int argc, char **argv)
{
    trl_kernel_config cfg = {0};
    for (int i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "-f") == 0 ||
             strcmp(argv[i], "--connection-file") == 0) && i + 1 < argc)
            cfg.connection_file = argv[++i];
        else if (strncmp(argv[i], "--connection-file=", 18) == 0)
            cfg.connection_file = argv[i] + 18;
        else if (strcmp(argv[i], "--history") == 0 && i + 1 < argc)
            cfg.history_path = argv[++i];
        else if (strcmp(argv[i], "--registry") == 0 && i + 1 < argc)
            cfg.registry_path = argv[++i];
        else {
            fprintf(stderr, "trellis kernel: unknown option '%s'\n%s",
                    argv[i], usage);
            return 2;
        }
    }
    if (!cfg.connection_file) {
        fprintf(stderr, "trellis kernel: -f CONNECTION_FILE is required\n");
        return 2;
    }
    trl_error err;
    if (trl_kernel_run(&cfg, &err) != 0) {
        fprintf(stderr, "trellis kernel: %s\n", err.message);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("trellis %s (Jupyter protocol %s, %s)\n", TRL_VERSION,
               TRL_PROTOCOL_VERSION, LUA_RELEASE);
        return 0;
    }
    if (strcmp(argv[1], "kernel") == 0)
        return cmd_kernel(argc - 2, argv + 2);
    if (strcmp(argv[1], "install") == 0)
        return cmd_install(argc - 2, argv + 2);
    if (strcmp(argv[1], "-f") == 0)  /* `trellis -f FILE`, as ipykernel */
        return cmd_kernel(argc - 1, argv + 1);
    fprintf(stderr, "trellis: unknown command '%s'\n%s", argv[1], usage);
    return 2;
}
