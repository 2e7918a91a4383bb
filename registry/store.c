/* store.c - the feature registry kept in SQLite: frozen, versioned frames,
 * one BLOB per column, and a cache of the versions already in memory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "registry/gate_int.h"
#include "registry/guard_int.h"
#include "registry/registry_int.h"

/* On-disk format, version 6 (PRAGMA user_version; 0 means "no schema yet").
 * Version 1 had the frame tables only; version 2 adds the model tables
 * (model_store.c), version 3 the benchmarks (benchmark_store.c), version 4
 * the guard rails' records (guard_store.c), version 5 the feature
 * importances (importance_store.c), version 6 the promotions' audit log
 * (audit_store.c), and opening an older file adds what it
 * lacks, one version at a time.
 *
 * Only plain tables, TEXT/INTEGER/BIGINT/BLOB columns and a composite
 * primary key, so the same tables can move to PostgreSQL unchanged (BLOB is
 * spelt BYTEA there). `created` is ISO 8601 UTC text written by us, not a
 * database default, for the same reason.
 *
 * Column BLOBs are raw little-endian arrays of nrows values: f64 doubles,
 * i64 int64 (plus `valid`, nrows bytes 1 present / 0 missing, or NULL when
 * nothing is missing), bool uint8 (0, 1, 255 missing), str int32 codes (-1
 * missing). A str column's `dictionary` is its strings in code order, each
 * a 4-byte little-endian byte length followed by the bytes (no NUL, so a
 * string may hold any byte); it keeps only the strings the column uses.
 *
 * content_hash is the hex SHA-256 of the stored column blobs (see
 * hash_column); a load recomputes it, so damage anywhere in a column is an
 * error rather than silently wrong features. */
#define SCHEMA_VERSION 6

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS frames("
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " created TEXT NOT NULL,"
    " nrows BIGINT NOT NULL,"
    " ncols INTEGER NOT NULL,"
    " lineage TEXT NOT NULL,"
    " content_hash TEXT NOT NULL,"
    " PRIMARY KEY(name, version));"
    "CREATE TABLE IF NOT EXISTS columns("
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " position INTEGER NOT NULL,"
    " col_name TEXT NOT NULL,"
    " dtype TEXT NOT NULL,"
    " data BLOB NOT NULL,"
    " valid BLOB,"
    " dictionary BLOB,"
    " PRIMARY KEY(name, version, position),"
    " FOREIGN KEY(name, version) REFERENCES frames(name, version));";

/* Registry names are identifiers so they read the same in Lua, SQL and a
 * file name; the cap keeps error messages readable. */
#define NAME_MAX_LEN 128

/* How long a writer waits for another kernel's transaction on the same
 * file before giving up with "database is locked". */
#define BUSY_TIMEOUT_MS 5000

struct trl_registry {
    sqlite3 *db;
    char *path;          /* as given, for messages */
    const char *read_only_why;  /* why it was opened immutable, or NULL */
    int opening;         /* in trl_registry_open: errors are not writes */
    trl_frame **cache;   /* frozen versions in memory, each with ref set */
    size_t ncache, cache_cap;
    trl__model_cache models;  /* registered models in memory */
};

sqlite3 *trl__registry_db(trl_registry *r)
{
    return r->db;
}

const char *trl__registry_path(const trl_registry *r)
{
    return r->path;
}

trl__model_cache *trl__registry_models(trl_registry *r)
{
    return &r->models;
}

/* ---- small helpers ------------------------------------------------------- */

static int host_is_le(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Reverses each width-byte element of buf in place (big-endian hosts). */
static void swap_bytes(void *buf, size_t n, size_t width)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++, p += width)
        for (size_t a = 0, b = width - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

static void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static size_t dtype_width(trl_dtype t)
{
    switch (t) {
    case TRL_F64: return sizeof(double);
    case TRL_I64: return sizeof(int64_t);
    case TRL_BOOL: return 1;
    case TRL_STR: return sizeof(int32_t);
    }
    return 0;
}

static int dtype_parse(const char *s, trl_dtype *out)
{
    for (int t = TRL_F64; t <= TRL_STR; t++)
        if (s && strcmp(s, trl_dtype_name((trl_dtype)t)) == 0) {
            *out = (trl_dtype)t;
            return 0;
        }
    return -1;
}

int trl__registry_valid_name(const char *s, size_t len)
{
    if (len == 0 || len > NAME_MAX_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

static int name_error(const char *name, trl_error *err)
{
    if (!name || !*name)
        return trl_error_set(err, TRL_EINVAL, "a feature frame needs a "
                             "name, such as 'churn'");
    if (strlen(name) > NAME_MAX_LEN)
        return trl_error_set(err, TRL_EINVAL, "feature frame name '%.40s...'"
                             " is longer than %d characters", name,
                             NAME_MAX_LEN);
    return trl_error_set(err, TRL_EINVAL, "'%.100s' is not a valid feature "
                         "frame name: use letters, digits and _, not "
                         "starting with a digit (as in 'churn_v2')", name);
}

/* What the user can do about the errors that are theirs to fix, written
 * to buf, or NULL. A full disk reaches us as SQLITE_FULL (ENOSPC, or a
 * short write at the file size limit) or as an I/O error whose errno is
 * ENOSPC, EDQUOT or EFBIG (a write that starts at the limit: SQLite calls
 * only ENOSPC "full"). sqlite3_system_errno is read for I/O errors only:
 * SQLite updates it for those alone. */
static const char *db_error_hint(const trl_registry *r, char *buf, size_t n)
{
    int primary = sqlite3_errcode(r->db);
    int sys = primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN
                  ? sqlite3_system_errno(r->db) : 0;
    if (primary == SQLITE_FULL || sys == ENOSPC || sys == EDQUOT ||
        sys == EFBIG)
        return "the disk is full (or a file size limit or quota is "
               "reached) and the registry is unchanged: free space on the "
               "disk that holds it, or set TRELLIS_REGISTRY to a file on "
               "another disk and restart the kernel";
    if (primary != SQLITE_READONLY && !(primary == SQLITE_IOERR &&
                                        sys == EROFS))
        return NULL;
    if (r->opening)
        return "this kernel may not write the file, or the -wal and -shm "
               "files SQLite keeps beside it: make them and their "
               "directory writable, or set TRELLIS_REGISTRY to another file "
               "and restart the kernel";
    if (r->read_only_why) {
        snprintf(buf, n, "the registry can only be read here (%s): to "
                 "register, make that writable, or set TRELLIS_REGISTRY to "
                 "a writable file and restart the kernel", r->read_only_why);
        return buf;
    }
    return "the file is read-only to this kernel, which can still read it: "
           "to register, make it writable (chmod u+w, or mount it "
           "read-write), or set TRELLIS_REGISTRY to a writable file and "
           "restart the kernel";
}

/* Fills err from the connection's last error, naming the file and, when
 * the user can fix it, how. Call it before any ROLLBACK, which replaces
 * the message. */
int trl__registry_db_error(const trl_registry *r, const char *what, trl_error *err)
{
    int code = sqlite3_errcode(r->db) == SQLITE_NOMEM ? TRL_ENOMEM : TRL_EIO;
    char buf[320];
    const char *hint = db_error_hint(r, buf, sizeof buf);
    if (hint)
        return trl_error_set(err, code, "feature registry '%s': %s: %s "
                             "(SQLite: %s)", r->path, what, hint,
                             sqlite3_errmsg(r->db));
    return trl_error_set(err, code, "feature registry '%s': %s: %s", r->path,
                         what, sqlite3_errmsg(r->db));
}

static int damaged(const trl_registry *r, const char *ref, const char *col,
                   const char *why, trl_error *err)
{
    return trl_error_set(err, TRL_EIO, "feature registry '%s': %s%s%s%s is "
                         "damaged: %s", r->path, ref, col ? " column '" : "",
                         col ? col : "", col ? "'" : "", why);
}

/* ISO 8601 UTC with milliseconds, e.g. 2024-05-01T12:00:00.123Z. */
void trl__now_iso8601(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* ---- hashing --------------------------------------------------------------- */

static void hash_u64(EVP_MD_CTX *h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    EVP_DigestUpdate(h, b, 8);
}

/* Length-prefixed, so no two different columns hash the same input; a
 * NULL blob is length 2^64-1, distinct from an empty one. */
static void hash_blob(EVP_MD_CTX *h, const void *p, size_t len, int present)
{
    hash_u64(h, present ? (uint64_t)len : UINT64_MAX);
    if (present && len)
        EVP_DigestUpdate(h, p, len);
}

/* has_valid and has_dict are passed apart from the pointers because
 * SQLite gives a NULL pointer for an empty BLOB. */
static void hash_column(EVP_MD_CTX *h, const char *name, trl_dtype t,
                        const void *data, size_t data_len, int has_valid,
                        const void *valid, size_t valid_len, int has_dict,
                        const void *dict, size_t dict_len)
{
    hash_blob(h, name, strlen(name), 1);
    const char *tn = trl_dtype_name(t);
    hash_blob(h, tn, strlen(tn), 1);
    hash_blob(h, data, data_len, 1);
    hash_blob(h, valid, valid_len, has_valid);
    hash_blob(h, dict, dict_len, has_dict);
}

static void hash_hex(EVP_MD_CTX *h, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h, md, &n);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- opening and closing --------------------------------------------------- */

char *trl_registry_default_path(void)
{
    const char *env = getenv("TRELLIS_REGISTRY");
    if (env && *env)
        return strdup(env);
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    const char *base, *rest;
    if (xdg && *xdg) {
        base = xdg;
        rest = "/trellis/registry.sqlite";
    } else if (home && *home) {
        base = home;
        rest = "/.local/share/trellis/registry.sqlite";
    } else {
        return NULL;
    }
    size_t n = strlen(base) + strlen(rest) + 1;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s%s", base, rest);
    return path;
}

/* Creates the parent directories of path (mode 0700: registered features
 * may be private data). Failures surface when the file is opened. */
static void make_parents(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(dir, 0700);
        *p = '/';
    }
    free(dir);
}

/* Creates path as an empty file of mode 0600 if it does not exist (an empty
 * file is an empty database to SQLite). fchmod, because open's mode is
 * filtered by the umask. *created says whether we made it, so a failed open
 * can remove it again. Existing files keep their mode: a registry the user
 * made read-only stays read-only. */
static int create_private(const trl_registry *r, int *created,
                          trl_error *err)
{
    *created = 0;
    make_parents(r->path);
    int fd = open(r->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0;
        return trl_error_set(err, TRL_EIO, "feature registry '%s': cannot "
                             "create: %s", r->path, strerror(errno));
    }
    *created = 1;
    int rc = fchmod(fd, 0600);
    int saved = errno;
    close(fd);
    if (rc != 0)
        return trl_error_set(err, TRL_EIO, "feature registry '%s': cannot "
                             "make it private (mode 0600): %s", r->path,
                             strerror(saved));
    return 0;
}

/* Why the kernel may not make files beside path, or NULL when it may. */
static const char *no_room_beside(const char *path)
{
    struct statvfs fs;
    if (statvfs(path, &fs) == 0 && (fs.f_flag & ST_RDONLY))
        return "it is on a read-only file system";
    char *dir = strdup(path);
    if (!dir)
        return NULL;
    char *slash = strrchr(dir, '/');
    const char *d = slash == dir ? "/" : slash ? (*slash = '\0', dir) : ".";
    int writable = faccessat(AT_FDCWD, d, W_OK, AT_EACCESS) == 0;
    free(dir);
    return writable ? NULL
                    : "its directory is read-only to this kernel, and "
                      "SQLite keeps -wal and -shm files beside it";
}

/* A registry on a read-only file system (a team's registry mounted
 * read-only) or in a directory this kernel may not write (a team's
 * directory) cannot be read in WAL mode as it is: SQLite keeps the WAL
 * index in a -shm file beside the database and cannot make one there.
 * With no -wal file beside it, no kernel has it open and the database
 * file holds every committed version (the last one to close it
 * checkpointed), so it is reopened immutable: read-only, without locks or
 * -shm. Should a kernel that may write it open it later and checkpoint
 * into it under us, the content and artifact hashes make what we read
 * then an error, never wrong features. With a -wal file there is nothing
 * to do: SQLite reads it read-only itself when its -shm is there too, and
 * ignoring it would hide versions. 1 when reopened, 0 when not tried, -1
 * when the reopen failed (r->db then holds its error, or is NULL when out
 * of memory). */
static int reopen_immutable(trl_registry *r)
{
    struct stat st;
    size_t n = strlen(r->path);
    char *wal = malloc(n + 5);
    if (!wal)
        return 0;
    snprintf(wal, n + 5, "%s-wal", r->path);
    int has_wal = stat(wal, &st) == 0 || errno != ENOENT;
    free(wal);
    const char *why = has_wal ? NULL : no_room_beside(r->path);
    char *uri = why ? malloc(3 * n + 32) : NULL;
    if (!uri)
        return 0;
    /* a URI, so every byte outside the unreserved set is %-escaped */
    char *p = uri + sprintf(uri, "file:");
    for (const unsigned char *c = (const unsigned char *)r->path; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
            (*c >= '0' && *c <= '9') || strchr("/._~-", *c))
            *p++ = (char)*c;
        else
            p += sprintf(p, "%%%02X", *c);
    }
    strcpy(p, "?immutable=1");
    sqlite3_close(r->db);
    r->db = NULL;
    int rc = sqlite3_open_v2(uri, &r->db,
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
                                 SQLITE_OPEN_URI,
                             NULL);
    free(uri);
    if (rc != SQLITE_OK)
        return -1;
    r->read_only_why = why;
    return 1;
}

static int user_version(trl_registry *r, int *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "PRAGMA user_version", -1, &st, NULL))
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Runs sql and sets user_version to `to`, in one transaction, when the
 * file is still at version `from`. The version is read again under the
 * write lock, as another kernel may have done it between our first look
 * and BEGIN. */
static int migrate(trl_registry *r, int from, int to, const char *sql,
                   trl_error *err)
{
    char bump[64];
    snprintf(bump, sizeof bump, "PRAGMA user_version = %d", to);
    int v;
    if (sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
        return trl__registry_db_error(r, "cannot create the tables", err);
    if (user_version(r, &v) != 0 ||
        (v == from && (sqlite3_exec(r->db, sql, NULL, NULL, NULL) ||
                       sqlite3_exec(r->db, bump, NULL, NULL, NULL))) ||
        sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL)) {
        trl__registry_db_error(r, "cannot create the tables", err);
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
        return err ? err->code : TRL_EIO;
    }
    return 0;
}

/* Brings the database to SCHEMA_VERSION, one step at a time. */
static int ensure_schema(trl_registry *r, trl_error *err)
{
    int v;
    if (user_version(r, &v) != 0)
        return trl__registry_db_error(r, "cannot read", err);
    if (v > SCHEMA_VERSION)
        return trl_error_set(err, TRL_EIO, "feature registry '%s' was "
                             "written by a newer Trellis (format %d; this one "
                             "reads format %d)", r->path, v, SCHEMA_VERSION);
    if (v == 0 && migrate(r, 0, 1, schema_sql, err) != 0)
        return err ? err->code : TRL_EIO;
    /* a read-only older file still serves what it has: model calls on a
     * format 1 file fail naming the missing table, a format 2 file reads
     * as having no benchmarks, one before format 4 as having no drift or
     * validation records, and one before format 5 as having no
     * promotions */
    if (v >= 1 && v < SCHEMA_VERSION &&
        sqlite3_db_readonly(r->db, "main") == 1)
        return 0;
    if (v <= 1 && migrate(r, 1, 2, trl__model_schema_sql, err) != 0)
        return err ? err->code : TRL_EIO;
    if (v <= 2 && migrate(r, 2, 3, trl__bench_schema_sql, err) != 0)
        return err ? err->code : TRL_EIO;
    if (v <= 3 && migrate(r, 3, 4, trl__guard_schema_sql, err) != 0)
        return err ? err->code : TRL_EIO;
    if (v <= 4 && migrate(r, 4, 5, trl__importance_schema_sql, err) != 0)
        return err ? err->code : TRL_EIO;
    if (v <= 5 && migrate(r, 5, 6, trl__audit_schema_sql, err) != 0)
        return err ? err->code : TRL_EIO;
    return 0;
}

trl_registry *trl_registry_open(const char *path, trl_error *err)
{
    if (!path || !*path) {
        trl_error_set(err, TRL_EINVAL, "the feature registry needs a file "
                      "path (or ':memory:')");
        return NULL;
    }
    trl_registry *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto fail;
    }
    /* URIs ("file:...?mode=ro") and ":memory:" are SQLite's to resolve */
    int plain = strcmp(path, ":memory:") != 0 &&
                strncmp(path, "file:", 5) != 0;
    int created = 0;
    if (plain && create_private(r, &created, err) != 0)
        goto fail;
    if (sqlite3_open_v2(path, &r->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
                        NULL) != SQLITE_OK) {
        if (r->db)
            trl__registry_db_error(r, "cannot open", err);
        else
            trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto fail_db;
    }
    sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS);
    /* WAL: readers (other kernels, list/get) never wait for a writer.
     * synchronous=FULL: a registered version survives even a power cut,
     * worth an fsync since registering is rare. A read-only file that is
     * not in WAL mode yet stays as it is: reads still work. */
    r->opening = 1;
    int rc = sqlite3_exec(r->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    /* the first read, which in WAL mode needs the -shm file */
    if (rc == SQLITE_OK || rc == SQLITE_READONLY)
        rc = sqlite3_exec(r->db, "PRAGMA user_version", NULL, NULL, NULL);
    if ((rc == SQLITE_CANTOPEN || rc == SQLITE_READONLY) && plain &&
        !created) {
        int reopened = reopen_immutable(r);
        if (reopened < 0 && !r->db) {
            trl_error_set(err, TRL_ENOMEM, "out of memory");
            goto fail_db;
        }
        if (reopened)
            rc = reopened < 0 ? SQLITE_CANTOPEN
                              : sqlite3_exec(r->db, "PRAGMA user_version",
                                             NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        trl__registry_db_error(r, "cannot open", err);
        goto fail_db;
    }
    if (sqlite3_exec(r->db, "PRAGMA synchronous=FULL;"
                     "PRAGMA foreign_keys=ON", NULL, NULL, NULL)) {
        trl__registry_db_error(r, "cannot open", err);
        goto fail_db;
    }
    if (ensure_schema(r, err) != 0)
        goto fail_db;
    r->opening = 0;
    return r;

fail_db:
    sqlite3_close(r->db);
    if (created)
        unlink(path);  /* a failed open leaves no empty file behind */
fail:
    if (r)
        free(r->path);
    free(r);
    return NULL;
}

void trl_registry_close(trl_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ncache; i++)
        trl_frame_decref(r->cache[i]);
    free(r->cache);
    trl__model_cache_clear(&r->models);
    sqlite3_close(r->db);
    free(r->path);
    free(r);
}

/* ---- the cache ------------------------------------------------------------- */

static trl_frame *cache_find(const trl_registry *r, const char *ref)
{
    for (size_t i = 0; i < r->ncache; i++)
        if (strcmp(r->cache[i]->ref, ref) == 0)
            return r->cache[i];
    return NULL;
}

/* Makes room for one more entry, so adding after a COMMIT cannot fail. */
static int cache_reserve(trl_registry *r)
{
    if (r->ncache < r->cache_cap)
        return 0;
    size_t cap = r->cache_cap ? r->cache_cap * 2 : 8;
    trl_frame **c = realloc(r->cache, cap * sizeof *c);
    if (!c)
        return TRL_ENOMEM;
    r->cache = c;
    r->cache_cap = cap;
    return 0;
}

/* ---- registering ----------------------------------------------------------- */

/* A column as stored: pointers either into the column itself (no copy on a
 * little-endian host) or into `owned` buffers made for the purpose. */
typedef struct stored_col {
    const void *data;
    size_t data_len;
    const void *valid;    /* NULL: nothing missing */
    size_t valid_len;
    const void *dict;     /* TRL_STR only */
    size_t dict_len;
    void *owned[3];
} stored_col;

static void stored_free(stored_col *s)
{
    for (int i = 0; i < 3; i++)
        free(s->owned[i]);
}

static int row_error(const char *col, size_t row, const char *why,
                     trl_error *err)
{
    return trl_error_set(err, TRL_EINVAL, "column '%s' row %zu: %s", col,
                         row + 1, why);
}

/* Codes renumbered over the strings actually used, in their old order; a
 * filtered column would otherwise carry its parent's whole dictionary. */
static int encode_str(const char *col, const trl_column *c, stored_col *s,
                      trl_error *err)
{
    const trl_strdict *d = c->dict;
    size_t nd = d ? d->n : 0;
    int32_t *remap = malloc((nd ? nd : 1) * sizeof *remap);
    if (!remap)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    memset(remap, 0xff, (nd ? nd : 1) * sizeof *remap);
    for (size_t i = 0; i < c->len; i++) {
        int32_t k = c->v.codes[i];
        if (k < -1 || (k >= 0 && (size_t)k >= nd)) {
            free(remap);
            return row_error(col, i, "string code outside its dictionary",
                             err);
        }
        if (k >= 0)
            remap[k] = 0;
    }
    size_t used = 0, bytes = 0;
    for (size_t k = 0; k < nd; k++)
        if (remap[k] == 0) {
            if (d->lens[k] > UINT32_MAX) {
                free(remap);
                return trl_error_set(err, TRL_EINVAL, "column '%s': a "
                                     "string longer than 4 GB", col);
            }
            remap[k] = (int32_t)used++;
            bytes += 4 + d->lens[k];
        }
    uint8_t *blob = malloc(bytes ? bytes : 1);
    s->owned[2] = blob;
    if (!blob) {
        free(remap);
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    uint8_t *p = blob;
    for (size_t k = 0; k < nd; k++)
        if (remap[k] >= 0) {
            put_u32le(p, (uint32_t)d->lens[k]);
            memcpy(p + 4, d->strs[k], d->lens[k]);
            p += 4 + d->lens[k];
        }
    s->dict = blob;
    s->dict_len = bytes;
    if (used != nd || !host_is_le()) {
        int32_t *codes = malloc((c->len ? c->len : 1) * sizeof *codes);
        s->owned[0] = codes;
        if (!codes) {
            free(remap);
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < c->len; i++)
            codes[i] = c->v.codes[i] < 0 ? -1 : remap[c->v.codes[i]];
        if (!host_is_le())
            swap_bytes(codes, c->len, sizeof *codes);
        s->data = codes;
    }
    free(remap);
    return 0;
}

/* Fills s with the blobs for column c; rejects values a load would call
 * damage, so whatever is registered can be read back. */
static int encode_column(const char *col, const trl_column *c, stored_col *s,
                         trl_error *err)
{
    size_t w = dtype_width(c->type);
    if (!w)
        return trl_error_set(err, TRL_EINVAL, "column '%s' has an unknown "
                             "type", col);
    memset(s, 0, sizeof *s);
    s->data = c->v.f64;
    s->data_len = c->len * w;
    switch (c->type) {
    case TRL_F64:
        break;
    case TRL_I64:
        if (c->valid)
            for (size_t i = 0; i < c->len; i++) {
                if (c->valid[i] > 1)
                    return row_error(col, i, "validity byte is neither 0 "
                                     "nor 1", err);
                if (!c->valid[i]) {
                    s->valid = c->valid;  /* else all present: store NULL */
                    s->valid_len = c->len;
                }
            }
        break;
    case TRL_BOOL:
        for (size_t i = 0; i < c->len; i++)
            if (c->v.b[i] > 1 && c->v.b[i] != TRL_BOOL_MISSING)
                return row_error(col, i, "bool is neither true, false nor "
                                 "missing", err);
        break;
    case TRL_STR: {
        int rc = encode_str(col, c, s, err);
        if (rc != 0)
            return rc;
        break;
    }
    }
    if (!host_is_le() && w > 1 && c->type != TRL_STR) {
        void *copy = malloc(s->data_len ? s->data_len : 1);
        if (!copy)
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
        memcpy(copy, c->v.f64, s->data_len);
        swap_bytes(copy, c->len, w);
        s->owned[0] = copy;
        s->data = copy;
    }
    return 0;
}

/* sqlite3_bind_blob with a NULL pointer binds SQL NULL; an empty column
 * must stay an empty BLOB. */
static int bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    return sqlite3_bind_blob64(st, i, p ? p : "", (sqlite3_uint64)n,
                               SQLITE_STATIC);
}

/* The latest version of name, 0 when there is none, -1 on a read error. */
static int latest_version(trl_registry *r, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "SELECT max(version) FROM frames WHERE "
                           "name = ?", -1, &st, NULL))
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_int64 v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v > INT_MAX ? -1 : (int)v;
}

/* Inserts the frame row and its columns; the caller owns the transaction. */
static int insert_rows(trl_registry *r, const char *name, int version,
                       const trl_frame *f, const stored_col *s,
                       const char *lineage, const char *hash)
{
    char created[32];
    trl__now_iso8601(created);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "INSERT INTO frames(name, version, "
                           "created, nrows, ncols, lineage, content_hash) "
                           "VALUES(?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL))
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    sqlite3_bind_text(st, 3, created, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)f->nrows);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)f->ncols);
    sqlite3_bind_text(st, 6, lineage, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_prepare_v2(r->db, "INSERT INTO columns(name, version, "
                           "position, col_name, dtype, data, valid, "
                           "dictionary) VALUES(?, ?, ?, ?, ?, ?, ?, ?)", -1,
                           &st, NULL))
        return -1;
    rc = SQLITE_DONE;
    for (size_t i = 0; i < f->ncols && rc == SQLITE_DONE; i++) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, version);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)i);
        sqlite3_bind_text(st, 4, f->names[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, trl_dtype_name(f->cols[i]->type), -1,
                          SQLITE_STATIC);
        bind_blob(st, 6, s[i].data, s[i].data_len);
        if (s[i].valid)
            bind_blob(st, 7, s[i].valid, s[i].valid_len);
        else
            sqlite3_bind_null(st, 7);
        if (s[i].dict)
            bind_blob(st, 8, s[i].dict, s[i].dict_len);
        else
            sqlite3_bind_null(st, 8);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The version kept in memory: f's columns by reference (columns never
 * change, so sharing is safe), its own names and lineage. */
static trl_frame *frozen_copy(const trl_frame *f, const json_t *lineage)
{
    trl_frame *g = trl_frame_new();
    if (!g)
        return NULL;
    for (size_t i = 0; i < f->ncols; i++)
        if (trl_frame_set(g, f->names[i], f->cols[i], NULL) != 0)
            goto fail;
    g->nrows = f->nrows;
    if (!(g->lineage = json_deep_copy(lineage)))
        goto fail;
    return g;
fail:
    trl_frame_decref(g);
    return NULL;
}

int trl_registry_register(trl_registry *r, const char *name, trl_frame *f,
                          int *version_out, trl_error *err)
{
    if (!r || !f)
        return trl_error_set(err, TRL_EINVAL, "register needs a registry "
                             "and a frame");
    if (!name || !trl__registry_valid_name(name, strlen(name)))
        return name_error(name, err);
    if (f->ncols == 0)
        return trl_error_set(err, TRL_EINVAL, "cannot register '%s': the "
                             "frame has no columns", name);
    for (size_t i = 0; i < f->ncols; i++)
        if (f->cols[i]->len != f->nrows)
            return trl_error_set(err, TRL_EINVAL, "cannot register '%s': "
                                 "column '%s' has %zu rows, the frame %zu",
                                 name, f->names[i], f->cols[i]->len,
                                 f->nrows);

    int rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
    json_t *unknown = NULL;
    char *lineage_text = NULL;
    trl_frame *frozen = NULL;
    stored_col *s = NULL;
    EVP_MD_CTX *h = NULL;
    int version = 0;
    char what[NAME_MAX_LEN + 32], ref[NAME_MAX_LEN + 16], hash[65];
    snprintf(what, sizeof what, "cannot register '%s'", name);

    const json_t *lineage = f->lineage;
    if (!lineage && !(lineage = unknown = json_pack("{s:s}", "source",
                                                    "unknown")))
        goto fail_lineage;
    if (!(lineage_text = json_dumps(lineage, JSON_COMPACT)))
        goto fail_lineage;
    if (!(frozen = frozen_copy(f, lineage)))
        goto fail_frozen;
    if (cache_reserve(r) != 0)
        goto fail_cache;
    s = calloc(f->ncols, sizeof *s);
    h = EVP_MD_CTX_new();
    if (!s || !h || !EVP_DigestInit_ex(h, EVP_sha256(), NULL))
        goto fail_encode;

    /* Encoding and hashing happen before BEGIN: the write lock, which
     * other kernels wait on, is held only for the inserts. */
    hash_u64(h, f->nrows);
    for (size_t i = 0; i < f->ncols; i++) {
        trl_error why = {0};
        if ((rc = encode_column(f->names[i], f->cols[i], &s[i], &why))) {
            trl_error_set(err, rc, "%s: %s", what, why.message);
            goto fail_encode;
        }
        hash_column(h, f->names[i], f->cols[i]->type, s[i].data,
                    s[i].data_len, s[i].valid != NULL, s[i].valid,
                    s[i].valid_len, s[i].dict != NULL, s[i].dict,
                    s[i].dict_len);
    }
    hash_hex(h, hash);

    if (sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) {
        rc = trl__registry_db_error(r, what, err);
        goto fail_encode;
    }
    /* read under the write lock BEGIN IMMEDIATE took, so two kernels
     * never hand out the same N */
    int latest = latest_version(r, name);
    if (latest < 0 || latest == INT_MAX) {
        rc = trl__registry_db_error(r, what, err);
        goto fail_transaction;
    }
    version = latest + 1;
    if (insert_rows(r, name, version, f, s, lineage_text, hash) != 0) {
        rc = trl__registry_db_error(r, what, err);
        goto fail_transaction;
    }
    snprintf(ref, sizeof ref, "%s@%d", name, version);
    if (!(frozen->ref = strdup(ref))) {
        rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto fail_transaction;
    }
    if (sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL)) {
        rc = trl__registry_db_error(r, what, err);
        goto fail_transaction;
    }

    /* committed: nothing below can fail */
    frozen->frozen = 1;
    r->cache[r->ncache++] = frozen;
    frozen = NULL;
    if (version_out)
        *version_out = version;
    trl_error_clear(err);
    rc = 0;
    goto done;

fail_transaction:
    /* some errors roll the transaction back themselves; this ROLLBACK then
     * fails harmlessly */
    sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
done:
fail_encode:
    for (size_t i = 0; s && i < f->ncols; i++)
        stored_free(&s[i]);
    free(s);
    EVP_MD_CTX_free(h);
fail_cache:
    trl_frame_decref(frozen);
fail_frozen:
    free(lineage_text);
fail_lineage:
    json_decref(unknown);
    return rc;
}

/* ---- loading --------------------------------------------------------------- */

/* Parses a dictionary blob into c's (empty) dictionary. */
static int decode_dict(const trl_registry *r, const char *ref,
                       const char *col, trl_column *c, const uint8_t *p,
                       size_t n, trl_error *err)
{
    for (size_t off = 0, k = 0; off < n; k++) {
        if (n - off < 4)
            return damaged(r, ref, col, "dictionary ends inside a length",
                           err);
        size_t len = get_u32le(p + off);
        off += 4;
        if (n - off < len)
            return damaged(r, ref, col, "dictionary ends inside a string",
                           err);
        int32_t code = trl_strdict_intern(c->dict, (const char *)p + off,
                                          len);
        if (code < 0)
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
        if ((size_t)code != k)
            return damaged(r, ref, col, "dictionary holds a string twice",
                           err);
        off += len;
    }
    return 0;
}

/* Builds the column in the current row of st (position, col_name, dtype,
 * data, valid, dictionary), checking every size against nrows and every
 * value a column could not hold; updates the content hash. */
static trl_column *decode_column(const trl_registry *r, const char *ref,
                                 sqlite3_stmt *st, size_t nrows,
                                 EVP_MD_CTX *h, trl_error *err)
{
    const char *col = (const char *)sqlite3_column_text(st, 1);
    char why[160];
    trl_dtype t;
    if (!col) {
        damaged(r, ref, NULL, "a column has no name", err);
        return NULL;
    }
    if (dtype_parse((const char *)sqlite3_column_text(st, 2), &t) != 0) {
        damaged(r, ref, col, "unknown type", err);
        return NULL;
    }
    size_t w = dtype_width(t);
    const void *data = sqlite3_column_blob(st, 3);
    size_t data_len = (size_t)sqlite3_column_bytes(st, 3);
    int has_valid = sqlite3_column_type(st, 4) != SQLITE_NULL;
    const uint8_t *valid = sqlite3_column_blob(st, 4);
    size_t valid_len = (size_t)sqlite3_column_bytes(st, 4);
    int has_dict = sqlite3_column_type(st, 5) != SQLITE_NULL;
    const uint8_t *dict = sqlite3_column_blob(st, 5);
    size_t dict_len = (size_t)sqlite3_column_bytes(st, 5);

    if (nrows > SIZE_MAX / w || data_len != nrows * w) {
        snprintf(why, sizeof why, "%zu bytes of data, expected %zu for %zu "
                 "rows of %s", data_len, nrows > SIZE_MAX / w ? 0 : nrows * w,
                 nrows, trl_dtype_name(t));
        damaged(r, ref, col, why, err);
        return NULL;
    }
    if (has_valid && (t != TRL_I64 || valid_len != nrows)) {
        snprintf(why, sizeof why, "validity map of %zu bytes for %zu rows "
                 "of %s", valid_len, nrows, trl_dtype_name(t));
        damaged(r, ref, col, why, err);
        return NULL;
    }
    if (has_dict != (t == TRL_STR)) {
        damaged(r, ref, col, has_dict ? "a dictionary on a non-string column"
                                      : "string column without dictionary",
                err);
        return NULL;
    }
    hash_column(h, col, t, data, data_len, has_valid, valid, valid_len,
                has_dict, dict, dict_len);

    trl_column *c = trl_column_new(t, nrows, NULL);
    if (!c) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    if (data_len)
        memcpy(c->v.f64, data, data_len);
    if (!host_is_le())
        swap_bytes(c->v.f64, nrows, w);
    if (has_valid) {
        if (!(c->valid = malloc(nrows ? nrows : 1))) {
            trl_error_set(err, TRL_ENOMEM, "out of memory");
            goto fail;
        }
        if (nrows)
            memcpy(c->valid, valid, nrows);
    }
    if (has_dict && decode_dict(r, ref, col, c, dict, dict_len, err) != 0)
        goto fail;
    for (size_t i = 0; i < nrows; i++) {
        int bad = 0;
        if (t == TRL_STR)
            bad = c->v.codes[i] < -1 ||
                  (c->v.codes[i] >= 0 && (size_t)c->v.codes[i] >= c->dict->n);
        else if (t == TRL_BOOL)
            bad = c->v.b[i] > 1 && c->v.b[i] != TRL_BOOL_MISSING;
        else if (t == TRL_I64 && c->valid)
            bad = c->valid[i] > 1;
        if (bad) {
            snprintf(why, sizeof why, "row %zu holds an impossible value",
                     i + 1);
            damaged(r, ref, col, why, err);
            goto fail;
        }
    }
    return c;
fail:
    trl_column_decref(c);
    return NULL;
}

/* Reads name@version from the database into a new frozen frame; NULL with
 * err set (TRL_ENOTFOUND with *missing = 1 when there is no such row). */
static trl_frame *load(trl_registry *r, const char *name, int version,
                       int *missing, trl_error *err)
{
    char ref[NAME_MAX_LEN + 16];
    snprintf(ref, sizeof ref, "%s@%d", name, version);
    *missing = 0;
    sqlite3_stmt *st = NULL;
    EVP_MD_CTX *h = NULL;
    trl_frame *f = trl_frame_new();
    if (!f || !(f->ref = strdup(ref)) || !(h = EVP_MD_CTX_new()) ||
        !EVP_DigestInit_ex(h, EVP_sha256(), NULL)) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto fail;
    }
    if (sqlite3_prepare_v2(r->db, "SELECT nrows, ncols, lineage, "
                           "content_hash FROM frames WHERE name = ? AND "
                           "version = ?", -1, &st, NULL)) {
        trl__registry_db_error(r, "cannot read", err);
        goto fail;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE) {
            *missing = 1;
            trl_error_set(err, TRL_ENOTFOUND, "no feature frame '%s'", ref);
        } else {
            trl__registry_db_error(r, "cannot read", err);
        }
        goto fail;
    }
    sqlite3_int64 nrows = sqlite3_column_int64(st, 0);
    sqlite3_int64 ncols = sqlite3_column_int64(st, 1);
    const char *lineage = (const char *)sqlite3_column_text(st, 2);
    const char *stored_hash = (const char *)sqlite3_column_text(st, 3);
    char expect[65];
    snprintf(expect, sizeof expect, "%s", stored_hash ? stored_hash : "");
    if (nrows < 0 || (uint64_t)nrows > SIZE_MAX || ncols < 1) {
        damaged(r, ref, NULL, "impossible row or column count", err);
        goto fail;
    }
    f->lineage = lineage ? json_loads(lineage, 0, NULL) : NULL;
    if (!f->lineage) {
        damaged(r, ref, NULL, "lineage is not JSON", err);
        goto fail;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(r->db, "SELECT position, col_name, dtype, data, "
                           "valid, dictionary FROM columns WHERE name = ? "
                           "AND version = ? ORDER BY position", -1, &st,
                           NULL)) {
        st = NULL;
        trl__registry_db_error(r, "cannot read", err);
        goto fail;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    hash_u64(h, (uint64_t)nrows);
    sqlite3_int64 pos = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int64(st, 0) != pos++ || pos > ncols) {
            damaged(r, ref, NULL, "columns are missing or extra", err);
            goto fail;
        }
        trl_column *c = decode_column(r, ref, st, (size_t)nrows, h, err);
        if (!c)
            goto fail;
        const char *col = (const char *)sqlite3_column_text(st, 1);
        size_t before = f->ncols;
        rc = trl_frame_set(f, col, c, err);
        trl_column_decref(c);
        if (rc != 0)
            goto fail;
        if (f->ncols == before) {
            damaged(r, ref, col, "the name appears twice", err);
            goto fail;
        }
    }
    if (rc != SQLITE_DONE) {
        trl__registry_db_error(r, "cannot read", err);
        goto fail;
    }
    if (pos != ncols) {
        damaged(r, ref, NULL, "columns are missing or extra", err);
        goto fail;
    }
    char got[65];
    hash_hex(h, got);
    if (strcmp(got, expect) != 0) {
        damaged(r, ref, NULL, "content hash does not match", err);
        goto fail;
    }
    f->nrows = (size_t)nrows;
    f->frozen = 1;
    sqlite3_finalize(st);
    EVP_MD_CTX_free(h);
    return f;
fail:
    sqlite3_finalize(st);
    EVP_MD_CTX_free(h);
    trl_frame_decref(f);
    return NULL;
}

/* ---- looking up ------------------------------------------------------------ */

/* Splits "name" or "name@N" (version 0 = latest). */
static int parse_spec(const char *spec, char name[NAME_MAX_LEN + 1],
                      int *version, trl_error *err)
{
    if (!spec || !*spec)
        return trl_error_set(err, TRL_EINVAL, "which feature frame? Give "
                             "a name such as 'churn' or 'churn@2'");
    const char *at = strchr(spec, '@');
    size_t len = at ? (size_t)(at - spec) : strlen(spec);
    if (len == 0)
        return trl_error_set(err, TRL_EINVAL, "'%.100s': a feature frame "
                             "name must come before '@' (as in 'churn%.20s')",
                             spec, spec);
    if (!trl__registry_valid_name(spec, len)) {
        if (len > NAME_MAX_LEN)
            return name_error(spec, err);
        char bad[NAME_MAX_LEN + 1];
        memcpy(bad, spec, len);
        bad[len] = '\0';
        return name_error(bad, err);
    }
    memcpy(name, spec, len);
    name[len] = '\0';
    *version = 0;
    if (!at)
        return 0;
    const char *v = at + 1;
    if (!*v)
        return trl_error_set(err, TRL_EINVAL, "'%s': a version number must "
                             "follow '@' (as in '%s@2'), or leave out '@' "
                             "for the latest", spec, name);
    long n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return trl_error_set(err, TRL_EINVAL, "'%.100s': the version "
                                 "after '@' must be a number (as in '%s@2')",
                                 spec, name);
        n = n * 10 + (*p - '0');
        if (n > INT_MAX)
            return trl_error_set(err, TRL_EINVAL, "'%.100s': version number "
                                 "out of range", spec);
    }
    if (n == 0)
        return trl_error_set(err, TRL_EINVAL, "'%s': versions start at 1 "
                             "(as in '%s@1')", spec, name);
    *version = (int)n;
    return 0;
}

/* "no feature frame 'x' (registered: a, b)" or "'x' has versions 1..3,
 * not 7", whichever applies. */
static int not_found(trl_registry *r, const char *name, int version,
                     int latest, trl_error *err)
{
    if (latest > 0) {
        if (latest == 1)
            return trl_error_set(err, TRL_ENOTFOUND, "'%s' has only version "
                                 "1, not %d", name, version);
        return trl_error_set(err, TRL_ENOTFOUND, "'%s' has versions 1..%d, "
                             "not %d", name, latest, version);
    }
    char names[300] = "";
    size_t used = 0, count = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "SELECT DISTINCT name FROM frames ORDER "
                           "BY name", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *n = (const char *)sqlite3_column_text(st, 0);
            size_t len = n ? strlen(n) : 0;
            if (used + len + 8 >= sizeof names) {
                snprintf(names + used, sizeof names - used, ", ...");
                break;
            }
            used += (size_t)snprintf(names + used, sizeof names - used,
                                     "%s%s", count++ ? ", " : "",
                                     n ? n : "");
        }
        sqlite3_finalize(st);
    }
    if (!names[0])
        return trl_error_set(err, TRL_ENOTFOUND, "no feature frame '%s' "
                             "(none registered yet)", name);
    return trl_error_set(err, TRL_ENOTFOUND, "no feature frame '%s' "
                         "(registered: %s)", name, names);
}

trl_frame *trl_registry_get(trl_registry *r, const char *spec,
                            trl_error *err)
{
    char name[NAME_MAX_LEN + 1];
    int version = 0;
    if (!r) {
        trl_error_set(err, TRL_EINVAL, "no feature registry");
        return NULL;
    }
    if (parse_spec(spec, name, &version, err) != 0)
        return NULL;
    int latest = 0;
    if (version == 0) {
        /* asked every time: another kernel may have registered since */
        if ((latest = latest_version(r, name)) < 0) {
            trl__registry_db_error(r, "cannot read", err);
            return NULL;
        }
        if (latest == 0) {
            not_found(r, name, 0, 0, err);
            return NULL;
        }
        version = latest;
    }
    char ref[NAME_MAX_LEN + 16];
    snprintf(ref, sizeof ref, "%s@%d", name, version);
    trl_frame *f = cache_find(r, ref);
    if (f) {
        trl_frame_incref(f);
        return f;
    }
    if (cache_reserve(r) != 0) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    int missing;
    if (!(f = load(r, name, version, &missing, err))) {
        if (missing) {
            if ((latest = latest_version(r, name)) < 0)
                trl__registry_db_error(r, "cannot read", err);
            else
                not_found(r, name, version, latest, err);
        }
        return NULL;
    }
    r->cache[r->ncache++] = f;
    trl_frame_incref(f);
    return f;
}

json_t *trl__registry_collect(trl_registry *r, const char *sql,
                              json_t *(*row)(sqlite3_stmt *st))
{
    sqlite3_stmt *st;
    if (!r || sqlite3_prepare_v2(r->db, sql, -1, &st, NULL))
        return NULL;
    json_t *list = json_array();
    int rc = SQLITE_DONE;
    while (list && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *e = row(st);
        if (!e || json_array_append_new(list, e) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    if (list && rc != SQLITE_DONE) {
        json_decref(list);
        list = NULL;
    }
    sqlite3_finalize(st);
    return list;
}

static json_t *frame_row(sqlite3_stmt *st)
{
    const char *lin = (const char *)sqlite3_column_text(st, 5);
    json_t *lineage = lin ? json_loads(lin, 0, NULL) : NULL;
    return json_pack("{s:s, s:I, s:I, s:I, s:s, s:o}", "name",
                     (const char *)sqlite3_column_text(st, 0), "version",
                     (json_int_t)sqlite3_column_int64(st, 1), "rows",
                     (json_int_t)sqlite3_column_int64(st, 2), "columns",
                     (json_int_t)sqlite3_column_int64(st, 3), "created",
                     (const char *)sqlite3_column_text(st, 4), "lineage",
                     lineage ? lineage : json_null());
}

json_t *trl_registry_list(trl_registry *r)
{
    return trl__registry_collect(r, "SELECT name, version, nrows, ncols, "
                                 "created, lineage FROM frames ORDER BY "
                                 "name, version", frame_row);
}
