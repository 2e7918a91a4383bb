"""py_io.py - what the Python half of %%python cells hands C and the
notebook (loaded first, as _trellis_io; py_helper.py has the rest): JSON
out of every entry point, failures as values with Python's traceback, and
the objects user code writes through: sys.stdout and sys.stderr, rich
display (MIME bundles from _repr_*_ methods), input(). Output reaches the
cell through native.emit, a C function (py_runtime.c).
"""
import base64
import io
import json
import re
import traceback

EMIT_STDOUT, EMIT_STDERR, EMIT_DISPLAY, EMIT_RESULT = 0, 1, 2, 3
EMIT_CLEAR, EMIT_INPUT = 4, 5
TRL_EINTR = -6  # include/trellis/error.h

native = None  # emit(kind, bytes) -> (rc, text), now(clock): set by install


class Native:
    def __init__(self, emit, now):
        self.emit = emit
        self.now = now


def to_json(obj):
    # lone surrogates (from os.fsdecode, say) are not UTF-8: replaced
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", "replace")


def entry(fn):
    """C's entry points: JSON out, and a failure is a value, not a raise
    (an interrupt landing in the helper's own code included)."""
    def wrapper(*args):
        try:
            return to_json(fn(*args))
        except BaseException as e:  # noqa: B902 - nothing may escape to C
            return to_json(error_json(e))
    wrapper.__name__ = fn.__name__
    return wrapper


# ---- errors ------------------------------------------------------------------

_CELL_FRAME = re.compile(r'File "<In \[(\d+)\]>", line (\d+)')
_CELL_NAME = re.compile(r"\(<In \[(\d+)\]>, line (\d+)\)")


def cell_name(count):
    return "<In [%d]>" % count


def error_json(e):
    """ename, evalue and a Python traceback, the cell's frames named
    `In [N], line L` as the Lua engine names them, the helper's own
    frames left out."""
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == "<trellis>":
        tb = tb.tb_next
    lines = []
    for chunk in traceback.format_exception(type(e), e, tb):
        lines.extend(chunk.rstrip("\n").split("\n"))
    lines = [_CELL_NAME.sub(r"(In [\1], line \2)",
                            _CELL_FRAME.sub(r"In [\1], line \2", ln))
             for ln in lines]
    name = type(e).__name__
    # the exception's name red, as the other engines show it; the line
    # names it as traceback does (module-qualified but for builtins)
    mod = type(e).__module__
    qual = type(e).__qualname__
    shown = qual if mod in ("builtins", "__main__") else mod + "." + qual
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(shown):
            rest = lines[i][len(shown):]
            lines[i] = "\x1b[0;31m%s\x1b[0m%s" % (shown, rest)
            break
    evalue = str(e)
    evalue = _CELL_NAME.sub(r"(In [\1], line \2)", evalue)
    return {"ename": name, "evalue": evalue, "traceback": lines}


# ---- output ------------------------------------------------------------------

def _emit(kind, data):
    return native.emit(kind, data)


class Stream(io.TextIOBase):
    """sys.stdout / sys.stderr: every write goes to the cell as it happens
    (the kernel coalesces the chunks it sends)."""

    def __init__(self, kind, name):
        self._kind = kind
        self._name = name

    @property
    def name(self):
        return self._name

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s"
                            % type(s).__name__)
        if s:
            _emit(self._kind, s.encode("utf-8", "replace"))
        return len(s)

    def flush(self):
        pass


_REPRS = (("text/html", "_repr_html_"), ("text/markdown", "_repr_markdown_"),
          ("image/svg+xml", "_repr_svg_"), ("image/png", "_repr_png_"),
          ("image/jpeg", "_repr_jpeg_"), ("text/latex", "_repr_latex_"),
          ("application/json", "_repr_json_"),
          ("application/javascript", "_repr_javascript_"))
def _method(obj, name):
    """obj's repr method, as IPython finds it: not on classes, and not on
    objects that answer every attribute (a Mock would 'have' them all)."""
    if isinstance(obj, type):
        return None
    try:
        if getattr(obj, "_ipython_canary_method_should_not_exist_", None):
            return None
        m = getattr(obj, name, None)
    except Exception:
        return None
    return m if callable(m) else None


def _mime_value(mime, value):
    """value as JSON can carry it for mime, or None to leave it out."""
    if isinstance(value, (bytes, bytearray)):
        if mime.startswith("image/") and not mime.startswith("image/svg"):
            return base64.b64encode(value).decode("ascii")
        return None
    if mime == "application/json" or mime.endswith("+json"):
        return value if isinstance(value, (dict, list)) else None
    return value if isinstance(value, str) else None


def _plain(obj):
    if type(obj) in (list, dict, tuple, set):
        import pprint
        return pprint.pformat(obj, sort_dicts=False)
    return repr(obj)


def bundle(obj):
    """The MIME bundle of obj: its _repr_*_ methods, then repr()."""
    data, meta = {}, {}
    mb = _method(obj, "_repr_mimebundle_")
    if mb:
        try:
            r = mb()
            if isinstance(r, tuple) and len(r) == 2:
                r, m = r
                meta.update(m if isinstance(m, dict) else {})
            for k, v in (r.items() if isinstance(r, dict) else ()):
                v = _mime_value(k, v) if isinstance(k, str) else None
                if v is not None:
                    data[k] = v
        except Exception:
            pass
    for mime, name in _REPRS:
        m = _method(obj, name) if mime not in data else None
        if not m:
            continue
        try:
            r = m()
        except Exception:
            continue  # as IPython: a broken format is left out
        if isinstance(r, tuple) and len(r) == 2:
            r, md = r
            if isinstance(md, dict):
                meta[mime] = md
        r = _mime_value(mime, r)
        if r is not None:
            data[mime] = r
    if not data:
        import _trellis_mpl  # loaded after this module
        if _trellis_mpl.is_figure(obj):
            return _trellis_mpl.figure_bundle(obj)
    if "text/plain" not in data:
        data["text/plain"] = _plain(obj)
    return {"data": data, "metadata": meta}


class DisplayHandle:
    """What display(..., display_id=...) returns: update() replaces the
    output in place."""

    def __init__(self, display_id):
        self.display_id = display_id

    def update(self, obj, raw=False):
        display(obj, display_id=self.display_id, update=True, raw=raw)

    def display(self, obj, raw=False):
        display(obj, display_id=self.display_id, raw=raw)


def display(*objs, display_id=None, update=False, raw=False, metadata=None):
    """Shows each object as rich output (raw: obj is a MIME bundle)."""
    if display_id is True:
        import uuid
        display_id = uuid.uuid4().hex
    for obj in objs:
        if raw:  # obj is a MIME bundle already
            b = {"data": dict(obj), "metadata": {}}
            b["data"].setdefault("text/plain", "")
        else:
            b = bundle(obj)
        if metadata:
            b["metadata"].update(metadata)
        b["display_id"] = display_id
        b["update"] = bool(update)
        _emit(EMIT_DISPLAY, to_json(b))
    return DisplayHandle(display_id) if display_id else None


def clear_output(wait=False):
    """Clears the cell's output (wait: when new output arrives)."""
    _emit(EMIT_CLEAR, b"1" if wait else b"0")


class StdinNotImplementedError(RuntimeError):
    """The client does not accept input (as ipykernel raises)."""


def _ask(prompt, password):
    rc, text = _emit(EMIT_INPUT, to_json({"prompt": str(prompt),
                                          "password": password}))
    if rc == TRL_EINTR:
        raise KeyboardInterrupt
    if rc != 0:
        raise StdinNotImplementedError(text)
    return text


def read_input(prompt=""):
    return _ask(prompt, False)


def read_password(prompt="Password: ", stream=None):
    return _ask(prompt, True)
