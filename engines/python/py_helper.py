"""py_helper.py - the Python half of %%python cells, run inside the
kernel's embedded interpreter (compiled into the kernel; py_runtime.c loads
it as _trellis_kernel, after py_io.py, py_assist.py and py_mpl.py).

Cells run as in IPython: one __main__ namespace, the last expression's value
is the result, `_` holds it; %timeit's loop is compiled here. Every entry
point C calls returns JSON as bytes and never raises: a failure is
{"ename", "evalue", "traceback"}.
"""
import ast
import builtins
import gc
import getpass
import io
import itertools
import json
import linecache
import signal
import sys
import tokenize

import _trellis_io as tio
import _trellis_mpl as mpl
import trellis
# re-exported: C calls every entry point on this module
from _trellis_assist import complete, inspect_at, is_complete  # noqa: F401
from _trellis_io import bundle, cell_name, entry

_ns = None               # the user's namespace: __main__.__dict__
_hidden = set()          # names there before the first cell (%who, %reset)
_timers = {}
_next_timer = itertools.count(1)


@entry
def install(emit, now):
    global _ns
    tio.native = tio.Native(emit, now)
    sys.stdout = tio.Stream(tio.EMIT_STDOUT, "<stdout>")
    sys.stderr = tio.Stream(tio.EMIT_STDERR, "<stderr>")
    builtins.display = tio.display
    builtins.clear_output = tio.clear_output
    builtins.input = tio.read_input
    getpass.getpass = tio.read_password
    if not sys.argv:
        sys.argv = [""]
    # KeyboardInterrupt on the interrupts the kernel forwards
    # (PyErr_SetInterruptEx needs a Python handler to be set)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _ns = sys.modules["__main__"].__dict__
    _hidden.update(_ns)
    mpl.install()
    return {}


# ---- running cells -----------------------------------------------------------

def _source(code, count, first_line):
    """The cell's code as the compiler sees it: at the cell's own line
    numbers (below %%python) and known to linecache, so tracebacks and
    inspect.getsource show its lines."""
    name = cell_name(count)
    src = "\n" * (first_line - 1) + code
    linecache.cache[name] = (len(src), None, src.splitlines(True), name)
    return name, src


def _quiet(code):
    """A trailing `;` hides the result, as in IPython."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return False
    skip = {tokenize.ENDMARKER, tokenize.NL, tokenize.NEWLINE,
            tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}
    for t in reversed(toks):
        if t.type not in skip:
            return t.type == tokenize.OP and t.string == ";"
    return False


def _show_result(value):
    if value is None:
        return
    _ns["_"] = value
    tio.native.emit(tio.EMIT_RESULT, tio.to_json(bundle(value)))


@entry
@mpl.after_cell
def run_cell(code, count, first_line):
    """Runs all but the last statement, then evaluates the last if it is an
    expression and shows its value; then the figures it drew."""
    name, src = _source(code, count, first_line)
    tree = compile(src, name, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) \
            and not _quiet(code):
        last = ast.Expression(tree.body.pop().value)
    if tree.body:
        exec(compile(tree, name, "exec", dont_inherit=True), _ns)
    if last is not None:
        _show_result(eval(compile(last, name, "eval", dont_inherit=True),
                          _ns))
    return {}


@entry
def evaluate(expr):
    """user_expressions: the value's bundle, publishing nothing."""
    b = bundle(eval(compile(expr, "<expression>", "eval",
                             dont_inherit=True), _ns))
    return {"data": b["data"]}


@entry
def variables():
    return {k: type(v).__name__ for k, v in _ns.items()
            if not k.startswith("_") and k not in _hidden}


@entry
def reset():
    for k in list(_ns):
        if k not in _hidden:
            del _ns[k]
    return {}


class _Result(dict):
    """A value another engine hands Python as `_` (%timeit -o): keys read
    as attributes too, so _.best works as on IPython's TimeitResult."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


@entry
def set_last(text):
    v = json.loads(text)
    _ns["_"] = _Result(v) if isinstance(v, dict) else v
    return {}


# ---- values other engines read (engine ops lookup, scalar, bind_frame) ---------

@entry
def bind_native(name, fn):
    trellis._native[name] = fn
    return {}


@entry
def lookup(name):
    """The handle of the Frame or Model the global name holds, for C to
    take its own reference: SQL and magics see it, nothing copied. Plain
    DataFrames are not converted here (each lookup would copy them):
    trellis.Frame(df) copies once."""
    v = _ns.get(name)
    if isinstance(v, trellis.Frame):
        return {"kind": "frame", "handle": v._ref.h}
    if isinstance(v, trellis.Model):
        return {"kind": "model", "handle": v._ref.h}
    return {}


@entry
def scalar(name):
    """A number, string or boolean global, as SQL's `:name` reads it."""
    v = _ns.get(name)
    if isinstance(v, bool) or isinstance(v, str) \
            or (isinstance(v, int) and -2 ** 63 <= v < 2 ** 63) \
            or (isinstance(v, float) and v == v and abs(v) != float("inf")):
        return {"value": v}
    return {}


@entry
def bind_frame(name, handle):
    _ns[name] = trellis.Frame._wrap(handle)
    return {}


# ---- %timeit -----------------------------------------------------------------

# Python's timeit.template, as an AST so the statement keeps its lines
_TEMPLATE = """
def inner(_it, _timer):
    _t0 = _timer()
    for _i in _it:
        pass
    _t1 = _timer()
    return _t1 - _t0
"""


@entry
def timer_new(setup, stmt, clock, count, first_line):
    """Compiles stmt once as the body of timeit's loop, setup before it,
    in the user's namespace. {"id": n} for timer_run."""
    name, src = _source(stmt, count, first_line)
    body = ast.parse(src, name).body
    pre = ast.parse(setup, name).body if setup.strip() else []
    mod = ast.parse(_TEMPLATE)
    fn = mod.body[0]
    fn.body[0:0] = pre
    loop = next(n for n in fn.body if isinstance(n, ast.For))
    loop.body = body + loop.body  # timeit's trailing `pass`
    local = {}
    exec(compile(mod, name, "exec", dont_inherit=True), _ns, local)
    now = tio.native.now
    tid = next(_next_timer)
    _timers[tid] = (local["inner"], lambda: now(clock))
    return {"id": tid}


@entry
def timer_run(tid, loops):
    """One run: setup, then the statement `loops` times, timed, with the
    collector off as timeit has it."""
    inner, timer = _timers[tid]
    gc_was = gc.isenabled()
    gc.disable()
    try:
        return {"seconds": inner(itertools.repeat(None, loops), timer)}
    finally:
        if gc_was:
            gc.enable()


@entry
def timer_free(tid):
    _timers.pop(tid, None)
    return {}
