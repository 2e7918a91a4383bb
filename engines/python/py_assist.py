"""py_assist.py - the Python half's answers while the user types (loaded
as _trellis_assist): whether code is complete, completions, and what a name
is. Reads the user's namespace, __main__'s, and runs no cell code (jedi and
rlcompleter read attributes, as they do in IPython).
"""
import builtins
import codeop
import itertools
import re
import sys

from _trellis_io import entry


def _ns():
    return sys.modules["__main__"].__dict__


# ---- is_complete -------------------------------------------------------------

def _indent_after(lines):
    last = next((ln for ln in reversed(lines) if ln.strip()), "")
    indent = last[:len(last) - len(last.lstrip())]
    code = last.split("#", 1)[0].rstrip()
    return indent + "    " if code.endswith(":") else indent


@entry
def is_complete(code):
    """codeop's answer, and as IPython: a block still open at the end (its
    last line indented) waits for a blank line."""
    if not code.strip():
        return {"status": "complete"}
    try:
        compiled = codeop.compile_command(code, "<input>", "exec")
    except (SyntaxError, OverflowError, ValueError):
        return {"status": "invalid"}
    lines = code.split("\n")
    if compiled is None:
        return {"status": "incomplete", "indent": _indent_after(lines)}
    if len(lines) > 1 and lines[-1].strip() and lines[-1][0] in " \t":
        return {"status": "incomplete", "indent": _indent_after(lines)}
    return {"status": "complete"}


# ---- completion and inspection ---------------------------------------------

def _chars(code, cursor):
    """cursor (bytes, as C counts) in characters."""
    return len(code.encode("utf-8")[:cursor].decode("utf-8", "ignore"))


def _bytes(code, chars):
    return len(code[:chars].encode("utf-8"))


def _jedi_matches(code, cur):
    import jedi
    before = code[:cur]
    line = before.count("\n") + 1
    col = cur - (before.rfind("\n") + 1)
    comps = jedi.Interpreter(code, [_ns()]).complete(line, col)
    if not comps:
        return [], cur
    typed = len(comps[0].name) - len(comps[0].complete or "")
    return [c.name for c in comps], cur - typed


def _rl_matches(code, cur):
    import rlcompleter
    token = re.search(r"[\w.]*$", code[:cur]).group()
    if not token:
        return [], cur
    comp = rlcompleter.Completer(_ns())
    out = []
    for i in itertools.count():
        m = comp.complete(token, i)
        if m is None:
            break
        m = m.rstrip("(: ")
        if m not in out:
            out.append(m)
    return out, cur - len(token)


@entry
def complete(code, cursor):
    """Matches for the name before the cursor: jedi's when installed
    (as IPython), else rlcompleter's."""
    cur = _chars(code, cursor)
    found = _registry_matches(code, cur)
    if found is not None:  # a registry name, not a file, goes there
        matches, start = found
        return {"matches": matches, "start": _bytes(code, start),
                "end": _bytes(code, cur)}
    matches, start = [], cur
    try:
        matches, start = _jedi_matches(code, cur)
    except Exception:
        pass
    if not matches:
        matches, start = _rl_matches(code, cur)
    return {"matches": matches, "start": _bytes(code, start),
            "end": _bytes(code, cur)}


# trellis.features.get("ch|, trellis.models.get('|: a registered name
_REGISTRY_CALL = re.compile(
    r"trellis\.(features|models)\.(?:get|version)\(\s*([\"'])([\w@]*)$")


def _registry_matches(code, cur):
    """(matches, start): registered names and name@N inside the string of
    a trellis get, as Lua's Tab offers them; None elsewhere."""
    m = _REGISTRY_CALL.search(code[:cur])
    if not m:
        return None
    import trellis
    try:
        versions = trellis.features.list() if m.group(1) == "features" \
            else trellis.models.list()
    except Exception:  # no registry: nothing to offer
        return [], cur
    names = sorted({v["name"] for v in versions})
    refs = ["%s@%d" % (v["name"], v["version"]) for v in versions]
    prefix = m.group(3)
    return [n for n in names + refs if n.startswith(prefix)], \
        cur - len(prefix)


def _name_at(code, cur):
    """The dotted name under the cursor, else the callee of the call the
    cursor is in (`print(|`)."""
    s = cur
    while s > 0 and (code[s - 1].isalnum() or code[s - 1] in "_."):
        s -= 1
    e = cur
    while e < len(code) and (code[e].isalnum() or code[e] == "_"):
        e += 1
    name = code[s:e].strip(".")
    if name and not name[0].isdigit():
        return name
    depth = 0
    for i in range(cur - 1, -1, -1):
        if code[i] == ")":
            depth += 1
        elif code[i] == "(":
            if depth == 0:
                return _name_at(code, i) if i > 0 else None
            depth -= 1
    return None


def _resolve(name):
    """The object a dotted name refers to, reading attributes only."""
    parts = name.split(".")
    ns = _ns()
    if parts[0] in ns:
        obj = ns[parts[0]]
    elif hasattr(builtins, parts[0]):
        obj = getattr(builtins, parts[0])
    else:
        raise LookupError(name)
    for p in parts[1:]:
        obj = getattr(obj, p)
    return obj


def _describe(name, obj, detail):
    import inspect
    out = []
    if callable(obj):
        try:
            out.append("Signature: %s%s" % (name, inspect.signature(obj)))
        except (TypeError, ValueError):
            pass
    else:
        text = repr(obj)
        out.append("String form: %s" % (text if len(text) < 200
                                        else text[:200] + "..."))
    out.append("Type:      %s" % type(obj).__name__)
    try:
        out.append("File:      %s" % inspect.getfile(obj))
    except TypeError:
        pass
    doc = inspect.getdoc(obj)
    if detail and (inspect.isfunction(obj) or inspect.isclass(obj)
                   or inspect.ismethod(obj) or inspect.ismodule(obj)):
        try:
            out.append("Source:\n" + inspect.getsource(obj).rstrip("\n"))
            doc = None
        except (OSError, TypeError):
            pass
    if doc:
        out.append("Docstring:\n" + doc)
    return "\n".join(out)


@entry
def inspect_at(code, cursor, detail):
    """Shift-Tab and `name?`: signature, type, file and docstring (`??`:
    the source too). {} when there is nothing there."""
    name = _name_at(code, _chars(code, cursor))
    if not name:
        return {}
    try:
        obj = _resolve(name)
    except Exception:
        return {}
    return {"data": {"text/plain": _describe(name, obj, detail)}}
