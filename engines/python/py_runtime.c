/* py_runtime.c - the one embedded interpreter: started on the first Python
 * cell (so a kernel that never runs Python pays nothing at startup), the
 * GIL taken around each call and released after it, output routed back to
 * the running cell, and interrupts turned into KeyboardInterrupt. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engines/python/py_int.h"
#include "trellis/timing.h"
/* the Python half, compiled in: trl__py_<part>_src is py_<part>.py */
#include "trellis_py_assist.h"
#include "trellis_py_helper.h"
#include "trellis_py_io.h"
#include "trellis_py_mpl.h"
#include "trellis_py_trellis.h"
#include "trellis_py_values.h"

/* What py_io.py's emit() hands C (its EMIT_* constants). */
enum {
    EMIT_STDOUT = 0,
    EMIT_STDERR = 1,
    EMIT_DISPLAY = 2,
    EMIT_RESULT = 3,
    EMIT_CLEAR = 4,
    EMIT_INPUT = 5
};

/* CPython is one per process, so this state is too. */
static struct {
    trl__py_api api;
    int loaded;                 /* api resolved */
    int broken;                 /* initialising failed: never again */
    char broken_why[TRL_ERROR_MAX + 64];
    volatile sig_atomic_t ready;  /* initialised: the SIGINT handler may
                                   * call into Python */
    py_thread *saved;           /* the engine thread's state, GIL released */
    py_object *helper;          /* the py_helper module */
    trl_exec_ctx *ctx;          /* where output goes; NULL: dropped */
    pthread_t thread;           /* the engine's thread */
    struct sigaction kernel_sigint;
    wchar_t program[600];       /* Py_SetProgramName keeps the pointer */
} rt;

/* ---- errors ----------------------------------------------------------------- */

/* The pending Python exception as err's message (and cleared). */
static int python_error(trl_error *err, const char *doing)
{
    py_object *type = NULL, *value = NULL, *tb = NULL;
    rt.api.PyErr_Fetch(&type, &value, &tb);
    const char *text = "unknown error";
    py_object *s = value ? rt.api.PyObject_Str(value) : NULL;
    py_ssize_t n;
    const char *t = s ? rt.api.PyUnicode_AsUTF8AndSize(s, &n) : NULL;
    if (t)
        text = t;
    rt.api.PyErr_Clear();
    trl_error_set(err, TRL_EINVAL, "the Python engine failed %s: %s", doing,
                  text);
    if (s)
        rt.api.Py_DecRef(s);
    if (type)
        rt.api.Py_DecRef(type);
    if (value)
        rt.api.Py_DecRef(value);
    if (tb)
        rt.api.Py_DecRef(tb);
    return TRL_EINVAL;
}

/* ---- what Python calls (py_io.py's native) --------------------------------- */

static py_object *reply(int rc, const char *text)
{
    return rt.api.Py_BuildValue("(is)", rc, text ? text : "");
}

/* JSON from the helper into a display or result. */
static int publish(trl_exec_ctx *ctx, int kind, const char *buf, size_t n)
{
    json_t *j = json_loadb(buf, n, 0, NULL);
    json_t *data = json_object_get(j, "data");
    json_t *meta = json_object_get(j, "metadata");
    int rc = TRL_EINVAL;
    if (json_is_object(data)) {
        json_incref(data);
        meta = json_is_object(meta) ? json_incref(meta) : NULL;
        const char *id = json_string_value(json_object_get(j, "display_id"));
        if (kind == EMIT_RESULT)
            rc = trl_ctx_result(ctx, data, meta);
        else if (json_is_true(json_object_get(j, "update")) && id)
            rc = trl_ctx_update_display(ctx, data, meta, id);
        else
            rc = trl_ctx_display(ctx, data, meta, id);
    }
    json_decref(j);
    return rc;
}

static py_object *ask_input(trl_exec_ctx *ctx, const char *buf, size_t n)
{
    json_t *j = json_loadb(buf, n, 0, NULL);
    const char *prompt = json_string_value(json_object_get(j, "prompt"));
    int password = json_is_true(json_object_get(j, "password"));
    char *line = NULL;
    trl_error err = {0};
    /* the wait is for a person: other Python threads run meanwhile */
    py_thread *t = rt.api.PyEval_SaveThread();
    int rc = trl_ctx_input(ctx, prompt ? prompt : "", password, &line, &err);
    rt.api.PyEval_RestoreThread(t);
    json_decref(j);
    py_object *r = reply(rc, rc == 0 ? line : err.message);
    free(line);
    return r;
}

/* emit(kind, data: bytes) -> (rc, text). Output of a thread other than
 * the engine's, or between cells, cannot reach a cell (the iopub socket is
 * the engine thread's): streams go to the kernel's own stdout/stderr. */
static py_object *native_emit(py_object *self, py_object *args)
{
    (void)self;
    int kind;
    py_object *data;
    char *buf;
    py_ssize_t n;
    if (!rt.api.PyArg_ParseTuple(args, "iS", &kind, &data) ||
        rt.api.PyBytes_AsStringAndSize(data, &buf, &n) != 0)
        return NULL;
    trl_exec_ctx *ctx = pthread_equal(pthread_self(), rt.thread) ? rt.ctx
                                                                   : NULL;
    if (kind == EMIT_STDOUT || kind == EMIT_STDERR) {
        if (ctx)
            return reply(trl_ctx_stream(ctx, kind == EMIT_STDOUT
                                                 ? TRL_STDOUT : TRL_STDERR,
                                        buf, (size_t)n), NULL);
        ssize_t w = write(kind == EMIT_STDOUT ? 1 : 2, buf, (size_t)n);
        return reply(w < 0 ? TRL_EIO : 0, NULL);
    }
    if (!ctx)
        return reply(TRL_EINVAL, "no cell is running on this thread");
    switch (kind) {
    case EMIT_DISPLAY:
    case EMIT_RESULT:
        return reply(publish(ctx, kind, buf, (size_t)n), NULL);
    case EMIT_CLEAR:
        return reply(trl_ctx_clear_output(ctx, n > 0 && buf[0] == '1'),
                     NULL);
    case EMIT_INPUT:
        return ask_input(ctx, buf, (size_t)n);
    default:
        return reply(TRL_EINVAL, "unknown emit kind");
    }
}

/* now(clock) -> seconds on the clock %timeit measures with, the very
 * clock the other engines' timers read. */
static py_object *native_now(py_object *self, py_object *args)
{
    (void)self;
    int clock;
    if (!rt.api.PyArg_ParseTuple(args, "i", &clock))
        return NULL;
    if (clock < TRL_TIMING_CLOCK_PERF || clock > TRL_TIMING_CLOCK_CPU)
        clock = TRL_TIMING_CLOCK_PERF;
    return rt.api.PyFloat_FromDouble(trl_timing_now((trl_timing_clock)clock));
}

static py_method_def emit_def = {"emit", native_emit, TRL__PY_METH_VARARGS,
                                 "emit(kind, data) -> (rc, text)"};
static py_method_def now_def = {"now", native_now, TRL__PY_METH_VARARGS,
                                "now(clock) -> seconds"};

/* ---- starting ----------------------------------------------------------------- */

/* Python reads the locale's encoding for open() and friends; an embedded
 * interpreter ignores PYTHONUTF8 and never turns UTF-8 mode on by itself,
 * where python3 (and so ipykernel) would: in the C or POSIX locale. */
static int wants_utf8(void)
{
    const char *v = getenv("PYTHONUTF8");
    if (v && (strcmp(v, "0") == 0 || strcmp(v, "1") == 0))
        return v[0] == '1';
    static const char *const vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (size_t i = 0; i < 3; i++)
        if ((v = getenv(vars[i])) && *v)
            return strcmp(v, "C") == 0 || strcmp(v, "POSIX") == 0;
    return 1;
}

/* sys.executable and sys.prefix as /usr/bin/python3.X has them, so the
 * path search finds Debian's dist-packages (and multiprocessing starts a
 * real python). Without this CPython searches from the trellis binary. */
static void set_program_name(void)
{
    if (!rt.api.Py_SetProgramName)
        return;
    char exe[sizeof rt.api.prefix + 32];
    snprintf(exe, sizeof exe, "%s/bin/python3.%d", rt.api.prefix,
             rt.api.minor);
    if (access(exe, X_OK) != 0)
        snprintf(exe, sizeof exe, "%s/bin/python3", rt.api.prefix);
    size_t n = mbstowcs(rt.program, exe, sizeof rt.program /
                                         sizeof rt.program[0] - 1);
    if (n == (size_t)-1)
        return;
    rt.program[n] = L'\0';
    rt.api.Py_SetProgramName(rt.program);
}

/* Runs src as the module called name (in sys.modules, so the next one
 * imports it); a new reference, or NULL with err filled. */
static py_object *load_module(const char *name, const char *src,
                              trl_error *err)
{
    /* "<trellis>": tracebacks leave frames of this file name out */
    py_object *code = rt.api.Py_CompileString(src, "<trellis>",
                                              TRL__PY_FILE_INPUT);
    if (!code) {
        python_error(err, "to compile its helper");
        return NULL;
    }
    py_object *mod = rt.api.PyImport_ExecCodeModule(name, code);
    rt.api.Py_DecRef(code);
    if (!mod)
        python_error(err, "to load its helper");
    return mod;
}

/* Hands the trellis module its C functions (py_bridge.c). */
static int bind_bridge(trl_error *err)
{
    py_method_def *defs;
    size_t n = trl__py_bridge_defs(&defs);
    for (size_t i = 0; i < n; i++) {
        py_object *fn = rt.api.PyCFunction_NewEx(&defs[i], NULL, NULL);
        if (!fn)
            return python_error(err, "to start");
        json_t *res = NULL;
        int rc = trl__py_call("bind_native", &res, err, "(sO)",
                              defs[i].ml_name, fn);
        rt.api.Py_DecRef(fn);
        json_decref(res);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Loads the helper modules and lets them replace sys.stdout and
 * friends. */
static int start_helper(trl_error *err)
{
    /* in import order: each may import those before it */
    static const struct {
        const char *name, *src;
    } parts[] = {{"_trellis_io", trl__py_io_src},
                 {"_trellis_assist", trl__py_assist_src},
                 {"_trellis_mpl", trl__py_mpl_src},
                 {"_trellis_values", trl__py_values_src},
                 {"trellis", trl__py_trellis_src},
                 {"_trellis_kernel", trl__py_helper_src}};
    size_t n = sizeof parts / sizeof *parts;
    for (size_t i = 0; i < n; i++) {
        py_object *mod = load_module(parts[i].name, parts[i].src, err);
        if (!mod)
            return err->code;
        if (i == n - 1)
            rt.helper = mod;
        else
            rt.api.Py_DecRef(mod);  /* sys.modules holds it */
    }
    if (bind_bridge(err) != 0)
        return err->code;
    py_object *emit = rt.api.PyCFunction_NewEx(&emit_def, NULL, NULL);
    py_object *now = rt.api.PyCFunction_NewEx(&now_def, NULL, NULL);
    json_t *res = NULL;
    int rc = emit && now ? trl__py_call("install", &res, err, "(OO)", emit,
                                        now)
                         : python_error(err, "to start");
    if (emit)
        rt.api.Py_DecRef(emit);
    if (now)
        rt.api.Py_DecRef(now);
    if (rc == 0 && json_object_get(res, "evalue"))
        rc = trl_error_set(err, TRL_EINVAL, "the Python engine failed to "
                           "start: %s", json_string_value(
                               json_object_get(res, "evalue")));
    json_decref(res);
    return rc;
}

/* At exit, as a python3 process ends: user atexit functions run, modules
 * free what they hold (hashlib's OpenSSL digests, which the kernel's own
 * HMAC shares), and a non-daemon thread is waited for, as python3 (and
 * ipykernel) wait. Not from inside Python (ctypes calling exit()). */
static void finish_at_exit(void)
{
    if (!rt.ready || !rt.saved)
        return;
    rt.ready = 0;  /* the SIGINT handler must not call in any more */
    rt.api.PyEval_RestoreThread(rt.saved);
    rt.saved = NULL;
    rt.api.Py_FinalizeEx();
    /* finalising puts SIG_DFL where Python's handler was */
    sigaction(SIGINT, &rt.kernel_sigint, NULL);
}

static int start(trl_error *err)
{
    if (rt.broken)
        return trl_error_set(err, TRL_EINVAL, "%s", rt.broken_why);
    if (!rt.loaded) {
        if (trl__py_api_load(&rt.api, err) != 0)
            return err->code;  /* retried next time: one may install it */
        rt.loaded = 1;
    }
    set_program_name();
    if (rt.api.Py_UTF8Mode && wants_utf8())
        *rt.api.Py_UTF8Mode = 1;
    /* Python must not take SIGINT from the kernel (initsigs 0); the
     * helper gives Python a KeyboardInterrupt handler, which replaces the
     * kernel's at the C level: put the kernel's back after. */
    sigaction(SIGINT, NULL, &rt.kernel_sigint);
    rt.api.Py_InitializeEx(0);
    rt.thread = pthread_self();
    int rc = start_helper(err);
    sigaction(SIGINT, &rt.kernel_sigint, NULL);
    rt.saved = rt.api.PyEval_SaveThread();
    if (rc != 0) {
        rt.broken = 1;
        snprintf(rt.broken_why, sizeof rt.broken_why, "%s (restart the "
                 "kernel to try again)", err->message);
        return rc;
    }
    rt.ready = 1;
    atexit(finish_at_exit);
    return 0;
}

/* ---- around every call ---------------------------------------------------------- */

int trl__py_enter(trl_exec_ctx *ctx, trl_error *err)
{
    if (!rt.ready && start(err) != 0)
        return err->code;
    rt.api.PyEval_RestoreThread(rt.saved);
    rt.saved = NULL;
    rt.ctx = ctx;
    /* An interrupt that reached Python after its last call ended must not
     * stop this one; one meant for this cell (it came while the kernel
     * got here) must. */
    if (ctx && trl_ctx_interrupted(ctx))
        rt.api.PyErr_SetInterruptEx(SIGINT);
    else
        rt.api.PyOS_InterruptOccurred();  /* clears the flag */
    return 0;
}

void trl__py_leave(void)
{
    rt.ctx = NULL;
    /* signal.signal() in a cell installs Python's own C handler, which
     * would leave the kernel (and other engines) deaf to SIGINT. Ours
     * forwards to Python, so a Python handler still runs. */
    struct sigaction now;
    if (sigaction(SIGINT, NULL, &now) == 0 &&
        now.sa_handler != rt.kernel_sigint.sa_handler)
        sigaction(SIGINT, &rt.kernel_sigint, NULL);
    rt.saved = rt.api.PyEval_SaveThread();
}

int trl__py_call(const char *name, json_t **out, trl_error *err,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = trl__py_vcall(name, out, err, fmt, ap);
    va_end(ap);
    return rc;
}

int trl__py_vcall(const char *name, json_t **out, trl_error *err,
                  const char *fmt, va_list ap)
{
    *out = NULL;
    py_object *fn = rt.api.PyObject_GetAttrString(rt.helper, name);
    if (!fn)
        return python_error(err, name);
    py_object *args = rt.api.Py_VaBuildValue(fmt, ap);
    py_object *res = args ? rt.api.PyObject_CallObject(fn, args) : NULL;
    rt.api.Py_DecRef(fn);
    if (args)
        rt.api.Py_DecRef(args);
    char *buf;
    py_ssize_t n;
    if (!res || rt.api.PyBytes_AsStringAndSize(res, &buf, &n) != 0) {
        if (res)
            rt.api.Py_DecRef(res);
        return python_error(err, name);
    }
    json_error_t jerr;
    *out = json_loadb(buf, (size_t)n, 0, &jerr);
    rt.api.Py_DecRef(res);
    if (!*out)
        return trl_error_set(err, TRL_EINVAL, "the Python engine's %s "
                             "returned bad JSON: %s", name, jerr.text);
    return 0;
}

const trl__py_api *trl__py_fns(void) { return &rt.api; }

int trl__py_started(void) { return rt.ready; }

int trl__py_on_engine_thread(void)
{
    return rt.ready && pthread_equal(pthread_self(), rt.thread);
}

int trl__py_execution_count(void)
{
    return rt.ctx ? trl_ctx_execution_count(rt.ctx) : 0;
}

void trl__py_interrupt(void)
{
    /* documented as async-signal-safe, callable without the GIL */
    if (rt.ready)
        rt.api.PyErr_SetInterruptEx(SIGINT);
}
