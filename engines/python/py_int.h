/* py_int.h - private: the Python engine's view of CPython. libpython is
 * loaded at run time (dlopen), so the kernel neither links it nor needs
 * its headers to build: the few stable-ABI functions the engine calls are
 * declared here and resolved into a table. */
#ifndef TRELLIS_ENGINES_PY_INT_H
#define TRELLIS_ENGINES_PY_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>
#include <wchar.h>

#include <jansson.h>

#include "trellis/engine.h"

/* ---- the slice of the stable ABI we use ----------------------------------- */

typedef struct py_object py_object;   /* PyObject, opaque */
typedef struct py_thread py_thread;   /* PyThreadState, opaque */
typedef ssize_t py_ssize_t;            /* Py_ssize_t */
typedef py_object *(*py_cfunction)(py_object *self, py_object *args);

/* PyMethodDef: its layout is part of the stable ABI. */
typedef struct py_method_def {
    const char *ml_name;
    py_cfunction ml_meth;
    int ml_flags;
    const char *ml_doc;
} py_method_def;

#define TRL__PY_METH_VARARGS 0x0001
#define TRL__PY_FILE_INPUT 257   /* Py_file_input */

/* X(return type, name, parameters): every function is required, and is in
 * the stable ABI of Python 3.10 and later (PyErr_SetInterruptEx and
 * PyUnicode_AsUTF8AndSize are the newest). No format passed to the
 * variadic ones uses '#', whose meaning PY_SSIZE_T_CLEAN changes. */
#define TRL__PY_FUNCTIONS(X)                                                  \
    X(const char *, Py_GetVersion, (void))                                    \
    X(void, Py_InitializeEx, (int))                                           \
    X(int, Py_FinalizeEx, (void))                                             \
    X(int, Py_IsInitialized, (void))                                          \
    X(py_thread *, PyEval_SaveThread, (void))                                 \
    X(void, PyEval_RestoreThread, (py_thread *))                              \
    X(py_object *, Py_CompileString, (const char *, const char *, int))       \
    X(py_object *, PyImport_ExecCodeModule, (const char *, py_object *))      \
    X(py_object *, PyObject_GetAttrString, (py_object *, const char *))       \
    X(py_object *, PyObject_CallObject, (py_object *, py_object *))           \
    X(py_object *, PyObject_Str, (py_object *))                               \
    X(py_object *, Py_BuildValue, (const char *, ...))                        \
    X(py_object *, Py_VaBuildValue, (const char *, va_list))                  \
    X(int, PyArg_ParseTuple, (py_object *, const char *, ...))                \
    X(int, PyBytes_AsStringAndSize, (py_object *, char **, py_ssize_t *))     \
    X(const char *, PyUnicode_AsUTF8AndSize, (py_object *, py_ssize_t *))     \
    X(py_object *, PyFloat_FromDouble, (double))                              \
    X(py_object *, PyCFunction_NewEx, (py_method_def *, py_object *,         \
                                       py_object *))                          \
    X(void, Py_DecRef, (py_object *))                                         \
    X(py_object *, PyErr_Occurred, (void))                                    \
    X(void, PyErr_Fetch, (py_object **, py_object **, py_object **))          \
    X(void, PyErr_Clear, (void))                                              \
    X(int, PyErr_SetInterruptEx, (int))                                       \
    X(int, PyOS_InterruptOccurred, (void))                                    \
    X(py_object *, PyDict_GetItemString, (py_object *, const char *))         \
    X(py_object *, PyTuple_GetItem, (py_object *, py_ssize_t))                \
    X(py_ssize_t, PyTuple_Size, (py_object *))                                \
    X(void *, PyLong_AsVoidPtr, (py_object *))                                \
    X(py_ssize_t, PyLong_AsSsize_t, (py_object *))

#define TRL__PY_FIELD(ret, name, params) ret(*name) params;

typedef struct trl__py_api {
    void *lib;              /* dlopen handle, never closed: a loaded
                             * interpreter cannot be unloaded */
    char path[512];         /* the library loaded, as dlopen was given it */
    int minor;              /* 3.<minor> */
    char prefix[512];       /* where lib/python3.<minor> is (PYTHONHOME
                             * when the user set it) */
    TRL__PY_FUNCTIONS(TRL__PY_FIELD)
    /* optional (absent: left NULL): deprecated or data symbols */
    void (*Py_SetProgramName)(const wchar_t *);
    int *Py_UTF8Mode;
} trl__py_api;

/* ---- loading (py_api.c) ----------------------------------------------------- */

/* Finds and loads libpython and resolves the table: TRELLIS_LIBPYTHON
 * when set (and nothing else), else the library of the system's python3,
 * then other 3.x versions. 0, or TRL_ENOTFOUND / TRL_EUNSUPPORTED with
 * err saying what was tried and how to enable Python. On failure api is
 * left zeroed and nothing stays loaded. */
int trl__py_api_load(trl__py_api *api, trl_error *err);

/* The library names to try, most likely first, for a system whose
 * python3 is the file python3_target names ("python3.11", or NULL when
 * unknown), written into names (n slots of size bytes). Returns how many
 * were written. Exposed for tests. */
size_t trl__py_candidates(const char *python3_target, char names[][64],
                          size_t n);

/* The minor version of "3.11.2 (main, ...)" (Py_GetVersion's text), or
 * -1 when it is not 3.x. Exposed for tests. */
int trl__py_minor(const char *version);

/* Where the standard library of a libpython 3.minor that lives in libdir
 * is: the first of libdir, its parent and grandparent holding
 * lib/python3.<minor>/os.py (the landmark CPython's own search uses),
 * written to prefix. 0, or TRL_ENOTFOUND. Exposed for tests. */
int trl__py_find_prefix(const char *libdir, int minor, char *prefix,
                        size_t size);

/* ---- the interpreter (py_runtime.c) --------------------------------------- */

/* Makes Python ready on this (the engine's) thread, loading and
 * initialising it the first time, takes the GIL and routes output to ctx
 * (NULL: dropped; user_expressions and completion publish nothing). 0, or
 * a code with err saying why Python is unavailable. Pair with
 * trl__py_leave. */
int trl__py_enter(trl_exec_ctx *ctx, trl_error *err);

/* Releases the GIL (other Python threads run between cells) and puts the
 * kernel's SIGINT handler back if Python code replaced it. */
void trl__py_leave(void);

/* Calls the helper function name (py_helper.py) with the arguments
 * Py_BuildValue makes of fmt, a tuple format ("(si)"), and parses the
 * JSON bytes it returns into *out (a new reference). Between enter and
 * leave only. 0, or a code with err filled (the helper never raises, so
 * that is a bug or out of memory). */
int trl__py_call(const char *name, json_t **out, trl_error *err,
                 const char *fmt, ...);
int trl__py_vcall(const char *name, json_t **out, trl_error *err,
                  const char *fmt, va_list ap);

/* The loaded table (for the bridge); valid once Python has started. */
const trl__py_api *trl__py_fns(void);

/* Whether Python has started (a first Python cell ran). */
int trl__py_started(void);

/* Whether the caller is the engine's thread, the one cells run on. */
int trl__py_on_engine_thread(void);

/* The execution count of the running cell, 0 outside one. */
int trl__py_execution_count(void);

/* Asks running Python code to raise KeyboardInterrupt. Async-signal-safe;
 * does nothing before Python is initialised. */
void trl__py_interrupt(void);

/* ---- the trellis module's C half (py_bridge*.c) ---------------------------- */

/* What the module reaches: the Python engine's registry and its peers. */
typedef struct trl__py_bridge_env {
    struct trl_registry *registry;   /* may be NULL */
    const char *registry_error;      /* why it is NULL; may be NULL */
    trl_engine *const *peers;        /* every engine, self among them */
    const size_t *npeers;
    const trl_engine *self;
} trl__py_bridge_env;

/* Makes env (borrowed, kept) what the module reaches; detach forgets it
 * when it is still env. */
void trl__py_bridge_attach(const trl__py_bridge_env *env);
void trl__py_bridge_detach(const trl__py_bridge_env *env);

/* The functions the module calls (static; *out points at them). */
size_t trl__py_bridge_defs(py_method_def **out);

/* A new reference to the frame (model non-zero: the model) Python's
 * handle h names, or NULL. */
void *trl__py_bridge_ref(unsigned long long h, int model);

/* A handle owning the reference p (a frame, or a model when model is
 * non-zero), for Python to wrap; 0 when out of memory. */
unsigned long long trl__py_bridge_adopt(void *p, int model);

/* Drops the reference h owns (one Python never wrapped). */
void trl__py_bridge_release(unsigned long long h);

#endif
