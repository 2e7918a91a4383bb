"""trellis - the kernel's registry from Python cells.

The same frames, columns and models Lua and SQL cells see, without copies:

    import trellis
    f = trellis.features.get("churn@2")  # a working frame on the version
    f["tenure"]                          # a read-only NumPy view of it
    f["score"] = f["tenure"] * 2.0       # a new column (copied in once)
    trellis.features.register("churn", f)
    df = f.to_pandas()                   # numeric columns still shared
    trellis.lua.train                    # the Lua global `train`, shared
    m = trellis.models.get("churn_xgb@production")
    m.predict(f)
    trellis.metrics.compute("auc", f["churned"], m.predict(f))

Columns never change once made (frames share them, and the registry keeps
them), so every view is read-only; set a new column instead. What is
shared and what is copied: docs/reference.md, "Values across languages".
"""
import builtins
import json
import sys

import _trellis_values as _values

__all__ = ["Frame", "Model", "features", "models", "metrics", "lua",
           "figure_formats"]

# the C functions (py_bridge*.c), bound by the kernel as it starts Python
_native = {}
_errors = {}  # error code -> exception class, as C's errors() names them


def _call(fn, *args):
    """Calls a C function; its (rc, message, result...) becomes the result
    or the exception C names for rc."""
    r = _native[fn](*args)
    if r[0] != 0:
        if not _errors:
            _errors.update({int(code): getattr(builtins, name, RuntimeError)
                            for code, name in json.loads(
                                _native["errors"]()[2]).items()})
        raise _errors.get(r[0], RuntimeError)(r[1])
    return r[2] if len(r) == 3 else r[2:]


def _numpy():
    try:
        import numpy
    except ImportError:
        raise ImportError("trellis needs NumPy for columns: install "
                          "python3-numpy") from None
    return numpy


class _Ref:
    """One reference the kernel keeps for Python (a handle), given back
    when the last Python object using it is collected."""
    __slots__ = ("h", "__weakref__")

    def __init__(self, h):
        self.h = h

    def __del__(self):
        try:
            release = _native["release"]
        except Exception:  # the interpreter is ending: its globals are gone
            return
        release(self.h)

    # a second _Ref of h would release it under the first one's owner
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        raise TypeError("trellis frames and models live in the kernel and "
                        "cannot be pickled: pickle to_pandas() or the "
                        "arrays instead")


class _Memory:
    """What a column view's NumPy array rests on: its __array_interface__
    points at the column's own memory, and the reference it holds keeps
    that memory alive as long as the array (or any view of it) lives."""
    __slots__ = ("_ref", "__array_interface__")

    def __init__(self, ref, address, typestr, n):
        self._ref = ref
        self.__array_interface__ = {
            "version": 3, "shape": (n,), "typestr": typestr,
            "data": (address, True)}  # read-only


_ORDER = "<" if sys.byteorder == "little" else ">"  # columns are native
_TYPESTR = {"f64": _ORDER + "f8", "i64": _ORDER + "i8", "bool": "|u1",
            "str": _ORDER + "i4"}


def _as_array(np, ref, address, typestr, n):
    """A read-only array on n items at address, resting on a _Memory that
    keeps ref. The interface goes once NumPy has read it: left there, code
    could turn it writable and the next asarray() would write into
    memory every frame sharing the column (and the registry) reads."""
    mem = _Memory(ref, address, typestr, n)
    a = np.asarray(mem)
    del mem.__array_interface__
    a.flags.writeable = False
    return a


def _view(ref, info):
    """The raw values of a column as a read-only array, not copied."""
    np = _numpy()
    n = info["len"]
    if n == 0 or not info["data"]:
        a = np.empty(0, _TYPESTR[info["type"]])
        a.flags.writeable = False
        return a
    return _as_array(np, ref, info["data"], _TYPESTR[info["type"]], n)


def _valid_view(ref, info):
    return _as_array(_numpy(), ref, info["valid"], "|u1", info["len"])


# ---- frames -------------------------------------------------------------------

class Frame:
    """A frame of the kernel: a registered version (frozen), Lua's or
    SQL's, or one built here from a pandas DataFrame or a dict of columns
    (copied in once). Indexing a column gives a read-only NumPy array
    viewing the frame's memory: f64 and i64 as they are, bool as bool,
    i64 or bool with missing rows as a masked array, str as an object
    array of the strings (see codes() for the shared codes)."""

    __slots__ = ("_ref",)

    def __init__(self, data=None):
        self._ref = _Ref(_call("frame_new"))
        if data is None:
            return
        for name, values in _columns_of(data):
            self[name] = values

    @classmethod
    def _wrap(cls, h):
        f = cls.__new__(cls)
        f._ref = _Ref(h)
        return f

    def _info(self):
        return json.loads(_call("frame_info", self._ref.h))

    # -- shape and names
    @property
    def columns(self):
        return [c[0] for c in self._info()["columns"]]

    @property
    def dtypes(self):
        """{column: "f64" | "i64" | "bool" | "str"}"""
        return {c[0]: c[1] for c in self._info()["columns"]}

    @property
    def nrows(self):
        return self._info()["nrows"]

    @property
    def shape(self):
        i = self._info()
        return (i["nrows"], len(i["columns"]))

    @property
    def ref(self):
        """"name@N" for a registered version, else None."""
        return self._info().get("ref")

    @property
    def frozen(self):
        return self._info()["frozen"]

    @property
    def lineage(self):
        return self._info().get("lineage")

    def __len__(self):
        return self.nrows

    def __iter__(self):
        return iter(self.columns)

    def keys(self):
        return self.columns

    def __contains__(self, name):
        return name in self.columns

    # -- columns
    def _column(self, name):
        if not isinstance(name, str):
            raise TypeError("a column is named by a string, not %s"
                            % type(name).__name__)
        h, text = _call("column", self._ref.h, name)
        return _Ref(h), json.loads(text)

    def __getitem__(self, name):
        if isinstance(name, (list, tuple)):
            return self.select(*name)
        ref, info = self._column(name)
        np = _numpy()
        raw = _view(ref, info)
        t = info["type"]
        if t == "f64":
            return raw
        if t == "i64":
            if not info["valid"]:
                return raw
            return np.ma.masked_array(raw, mask=_valid_view(ref, info) == 0)
        if t == "bool":
            if not info["missing"]:
                return raw.view(np.bool_)
            return np.ma.masked_array(raw == 1, mask=raw == 255)
        cats = np.array(info["categories"] + [None], dtype=object)
        out = cats[raw]  # -1 picks the trailing None
        out.flags.writeable = False
        return out

    column = __getitem__

    def codes(self, name):
        """(codes, categories) of a str column: the int32 codes as a
        read-only view (-1 missing) and the strings they index."""
        ref, info = self._column(name)
        if info["type"] != "str":
            raise TypeError("column '%s' is %s, not str" % (name, info["type"]))
        return _view(ref, info), list(info["categories"])

    def __setitem__(self, name, values):
        n = self.nrows if self.columns else None
        _set_column(self._ref.h, name, values, n)

    def __delitem__(self, name):
        _call("frame_drop", self._ref.h, name)

    # -- new frames sharing columns
    def copy(self):
        """A working frame sharing these columns (nothing is copied)."""
        return Frame._wrap(_call("frame_derive", self._ref.h, "copy", ""))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def head(self, n=5):
        """The first n rows; n < 0: all but the last -n, as pandas."""
        n = int(n)
        if n < 0:
            n = max(self.nrows + n, 0)
        return Frame._wrap(_call("frame_derive", self._ref.h, "head",
                                 str(n)))

    def select(self, *names):
        for name in names:
            if not isinstance(name, str):
                raise TypeError("a column is named by a string, not %s"
                                % type(name).__name__)
            _values.check_name(name)
        return Frame._wrap(_call("frame_derive", self._ref.h, "select",
                                 json.dumps(list(names))))

    def register(self, name):
        """Registers a new version of name holding these columns:
        "name@N"."""
        return _call("register", name, self._ref.h)

    # -- conversions
    def to_dict(self):
        """{column: array} (the arrays of __getitem__)."""
        return {c: self[c] for c in self.columns}

    def to_pandas(self, copy=False):
        """A pandas DataFrame. Numeric columns without missing values stay
        views of the frame's memory (read-only; copy=True for writable
        ones); i64 and bool with missing rows become Int64 and boolean;
        str becomes Categorical on the shared codes."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas needs pandas: install "
                              "python3-pandas") from None
        np = _numpy()
        data = {}
        for name, t in self.dtypes.items():
            ref, info = self._column(name)
            raw = _view(ref, info)
            if t == "str":
                data[name] = pd.Categorical.from_codes(
                    raw, categories=info["categories"])
            elif t == "i64" and info["valid"]:
                data[name] = pd.arrays.IntegerArray(
                    raw.copy() if copy else raw, _valid_view(ref, info) == 0)
            elif t == "bool" and info["missing"]:
                data[name] = pd.arrays.BooleanArray(raw == 1, raw == 255)
            elif t == "bool":
                data[name] = raw.view(np.bool_)
            else:
                data[name] = raw
            if copy and isinstance(data[name], np.ndarray):
                data[name] = data[name].copy()
        # copy=False: one block per column, each still the view
        return pd.DataFrame(data, copy=False)

    # -- display
    def _bundle(self):
        return json.loads(_call("frame_bundle", self._ref.h))

    def __repr__(self):
        return self._bundle()["text/plain"]

    def _repr_html_(self):
        return self._bundle()["text/html"]


def _columns_of(data):
    """(name, values) pairs of a DataFrame, a dict or a Frame."""
    if isinstance(data, Frame):
        return [(c, data[c]) for c in data.columns]
    if hasattr(data, "columns") and hasattr(data, "__getitem__") \
            and hasattr(data, "iloc"):
        # a named index is data (groupby's keys); an unnamed one positions
        if any(n is not None for n in getattr(data.index, "names", [None])):
            data = data.reset_index()
        keys = list(data.columns)
    elif isinstance(data, dict):
        keys = list(data)
    else:
        raise TypeError("a frame is made from a pandas DataFrame, a dict of "
                        "columns or a Frame, not %s" % type(data).__name__)
    names = [str(k) for k in keys]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError("two columns are named '%s': a frame's column names "
                         "must differ (rename one)" % dup)
    return [(n, data[k]) for n, k in zip(names, keys)]


def _set_column(h, name, values, n):
    """Copies values into a new column of the frame h (n rows, or None
    for the first column)."""
    np = _numpy()
    if not isinstance(name, str):
        raise TypeError("a column is named by a string, not %s"
                        % type(name).__name__)
    _values.check_name(name)
    t, data, valid, cats = _values.encode(np, name, values, n)
    for c in cats or ():
        try:
            c.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError("column '%s': %r is not valid text (%s)"
                             % (name, c, e.reason)) from None
    _call("frame_set", h, name, t, data, valid,
          json.dumps(cats) if cats is not None else None)


def _as_frame(data):
    """A Frame of data: itself, or a new one copied in."""
    return data if isinstance(data, Frame) else Frame(data)


# ---- the registry ------------------------------------------------------------------

class _Features:
    """The feature registry, as `features` in Lua."""

    def get(self, spec):
        """A working frame on version spec ("name" is the latest,
        "name@N"): its columns are the version's own memory."""
        return Frame._wrap(_call("frame_get", spec, 1))

    def version(self, spec):
        """The registered (frozen) version itself."""
        return Frame._wrap(_call("frame_get", spec, 0))

    def register(self, name, data):
        """Registers data (a Frame, DataFrame or dict of columns) as the
        next version of name: "name@N". A DataFrame or dict is copied in
        with lineage "python cell"."""
        return _as_frame(data).register(name)

    def list(self):
        return json.loads(_call("list", "features"))

    def read_csv(self, path):
        import os
        return Frame._wrap(_call("csv", os.fsencode(path)))

    frame = staticmethod(Frame)

    def __repr__(self):
        return "<trellis.features: get, version, register, list, read_csv>"


class Model:
    """A trained model of the registry (or a Lua variable's)."""

    __slots__ = ("_ref", "_meta")

    @classmethod
    def _wrap(cls, h):
        m = cls.__new__(cls)
        m._ref = _Ref(h)
        m._meta = json.loads(_call("model_info", h))
        return m

    def __getattr__(self, key):
        if key.startswith("_"):  # _meta itself before it is set (copy)
            raise AttributeError(key)
        try:
            return self._meta[key]
        except KeyError:
            raise AttributeError(key) from None

    def __dir__(self):
        return list(self._meta) + ["predict", "info"]

    @property
    def info(self):
        return dict(self._meta)

    def predict(self, data):
        """Predictions for data's rows (a Frame, DataFrame or dict with
        the model's feature columns): a NumPy array, (rows, classes) for
        multi:softprob. One output is a view of the kernel's result, not
        copied; NumPy stacks several (a copy)."""
        np = _numpy()
        frame = _as_frame(data)
        out = json.loads(_call("model_predict", self._ref.h, frame._ref.h))
        refs = [_Ref(h) for h, _, _ in out]  # every one owned before more
        cols = [_view(ref, {"type": "f64", "len": n, "data": address})
                for ref, (_, address, n) in zip(refs, out)]
        return cols[0] if len(cols) == 1 else np.column_stack(cols)

    def __repr__(self):
        return "<trellis.Model %s: %s %s on %d features>" % (
            self._meta.get("ref") or "(unregistered)", self._meta["algo"],
            self._meta["objective"], len(self._meta["features"]))


class _Models:
    def get(self, spec):
        """"name", "name@N" or "name@production" (a stage)."""
        return Model._wrap(_call("model_get", spec))

    def list(self):
        return json.loads(_call("list", "models"))

    def __repr__(self):
        return "<trellis.models: get, list>"


# ---- metrics ----------------------------------------------------------------------

class _Metrics:
    """The kernel's own metrics (scikit-learn's definitions), the ones
    %compare reports: compute("auc", labels, scores)."""

    @property
    def NAMES(self):
        """The built-in metrics' names, "@k" where a cut-off goes."""
        return tuple(json.loads(_call("metric_names")))

    def list(self):
        return list(self.NAMES)

    def compute(self, name, labels, scores, weight=None, group=None,
                threshold=None, bins=None):
        """The metric of scores against labels; rows missing a label, a
        score, a weight or a group are left out, as in Lua."""
        np = _numpy()
        y = _values.numbers(np, labels, "labels")
        s = _values.numbers(np, scores, "scores")
        w = g = None
        if weight is not None:
            w = _values.numbers(np, weight, "weight")
        if group is not None:
            g, gmissing = _values.groups(np, group)
        for other, what in ((s, "scores"), (w, "weight"), (g, "group")):
            if other is not None and len(other) != len(y):
                raise ValueError("metrics.compute: labels have %d rows, %s %d"
                                 % (len(y), what, len(other)))
        if threshold is not None and not float(threshold) == float(threshold):
            raise ValueError("metrics.compute: threshold is NaN")
        if bins is not None and (int(bins) != bins or not 1 <= bins <= 10000):
            raise ValueError("metrics.compute: bins must be a whole number "
                             "from 1 to 10000, not %r" % (bins,))
        keep = ~(np.isnan(y) | np.isnan(s))
        if w is not None:
            keep &= ~np.isnan(w)
        if g is not None:
            keep &= ~gmissing
        y, s = np.ascontiguousarray(y[keep]), np.ascontiguousarray(s[keep])
        w = np.ascontiguousarray(w[keep]) if w is not None else None
        g = np.ascontiguousarray(g[keep]) if g is not None else None

        return _call("metric", name, y, s, w, g,
                     float("nan") if threshold is None else float(threshold),
                     0 if bins is None else int(bins))

    def __getattr__(self, name):
        if name.startswith("_") or name not in {n.split("@")[0]
                                                for n in self.NAMES}:
            raise AttributeError(name)

        def metric(labels, scores, k=None, **kw):
            return self.compute(name if k is None else "%s@%d" % (name, k),
                                labels, scores, **kw)
        metric.__name__ = name
        metric.__doc__ = "compute(%r, labels, scores, ...)" % name
        return metric

    def __dir__(self):
        return ["compute", "list"] + sorted({n.split("@")[0]
                                             for n in self.NAMES})

    def __repr__(self):
        return "<trellis.metrics: compute, list, %s>" % ", ".join(
            sorted({n.split("@")[0] for n in self.NAMES}))


# ---- other engines' variables --------------------------------------------------------

class _Engine:
    """Another engine's globals: trellis.lua.train is the frame the Lua
    global `train` holds (shared, not copied), a model as a Model, a
    number, string or boolean as its value."""

    def __init__(self, name, title):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_title", title)

    def __getitem__(self, key):
        kind, h, text = _call("peer", self._name, key)
        if kind == "frame":
            return Frame._wrap(h)
        if kind == "model":
            return Model._wrap(h)
        if kind == "value":
            return json.loads(text)
        raise KeyError("%s has no global '%s' holding a frame, a model, a "
                       "finite number, a string or a boolean"
                       % (self._title, key))

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError as e:
            raise AttributeError(e.args[0]) from None

    def __setattr__(self, key, value):
        raise AttributeError("trellis.%s is read-only: bind the value in a "
                             "%s cell" % (self._name, self._title))

    def __repr__(self):
        return "<trellis.%s: %s's globals, by name>" % (self._name,
                                                        self._title)


def figure_formats(*formats):
    """The formats matplotlib figures show in: "png" (the default),
    "retina" and "svg", any of them; with no argument, the current ones."""
    import _trellis_mpl
    return _trellis_mpl.set_figure_formats(*formats)


features = _Features()
models = _Models()
metrics = _Metrics()
lua = _Engine("lua", "Lua")
