/* kernel.h - running the Trellis kernel and installing its kernelspec. */
#ifndef TRELLIS_KERNEL_H
#define TRELLIS_KERNEL_H

#include "trellis/error.h"

typedef struct trl_kernel_config {
    const char *connection_file;  /* path, required */
    const char *history_path;     /* NULL: $TRELLIS_HISTORY or the data dir */
    const char *registry_path;    /* NULL: $TRELLIS_REGISTRY or the data dir */
    size_t memory_limit;          /* bytes for engines; 0 = the default
                                   * (TRELLIS_LUA_MEMORY, else RAM / 4) */
} trl_kernel_config;

/* Runs the kernel until a shutdown_request (or a fatal socket error).
 * Returns 0 after a clean shutdown, or a negative code with err (required,
 * not NULL) filled when the kernel could not start (unreadable connection
 * file, port in use). */
int trl_kernel_run(const trl_kernel_config *config, trl_error *err);

typedef enum {
    TRL_INSTALL_USER,        /* ~/.local/share/jupyter/kernels/trellis */
    TRL_INSTALL_PREFIX,      /* PREFIX/share/jupyter/kernels/trellis */
    TRL_INSTALL_SYS_PREFIX   /* /usr/local/share/jupyter/kernels/trellis */
} trl_install_mode;

typedef struct trl_install_opts {
    trl_install_mode mode;
    const char *prefix;      /* for TRL_INSTALL_PREFIX */
    const char *executable;  /* absolute path written into argv[0] */
    const char *source_dir;  /* kernelspec folder holding the logos, or NULL */
} trl_install_opts;

/* Writes kernel.json (and copies the logos) into the kernelspec folder the
 * mode selects, creating folders as needed. On success, when path_out is not
 * NULL, it receives the folder (malloc'd, caller frees). */
int trl_kernelspec_install(const trl_install_opts *opts, char **path_out,
                           trl_error *err);

#endif
