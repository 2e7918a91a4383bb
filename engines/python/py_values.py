"""py_values.py - how Python values become a column's (trellis.Frame,
trellis.features.register) and a metric's inputs (trellis.metrics):
NumPy arrays, pandas Series and their masked and categorical kinds,
lists and scalars, each with its missing rows, or an error saying what
to convert. Compiled into the kernel as _trellis_values; py_trellis.py is
its one user.
"""
import numbers as _num


def check_name(name):
    """A column name C can hold: text without NUL."""
    if "\0" in name:
        raise ValueError("column name %r holds a NUL character" % name)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError("column name %r is not valid text (%s)"
                         % (name, e.reason)) from None


def encode(np, name, values, n):
    """(type, contiguous array, valid bytes or None, categories or None)
    for values: a NumPy array, a pandas Series, a list, or one scalar
    (repeated n times)."""
    dtype = getattr(values, "dtype", None)
    # pandas: categoricals and the masked types keep their shape
    if dtype is not None and str(dtype) == "category":
        cat = values.cat if hasattr(values, "cat") else values
        codes = np.ascontiguousarray(getattr(cat, "codes"), dtype=np.int32)
        cats = [str(c) for c in cat.categories]
        return _check_len(name, "str", codes, None, cats, n)
    if dtype is not None and hasattr(values, "to_numpy") \
            and str(dtype) in ("Float32", "Float64"):
        return _check_len(name, "f64", values.to_numpy(
            dtype=np.float64, na_value=np.nan), None, None, n)
    if dtype is not None and hasattr(values, "to_numpy") \
            and str(dtype) == "string":
        return _encode_objects(np, name, values.to_numpy(
            dtype=object, na_value=None), n)
    if dtype is not None and hasattr(values, "to_numpy") \
            and str(dtype) == "UInt64":
        big = values.to_numpy(dtype=np.uint64, na_value=0)
        if big.size and int(big.max()) > np.iinfo(np.int64).max:
            raise ValueError("column '%s' holds integers past int64" % name)
        values = values.astype("Int64")
        dtype = values.dtype
    if dtype is not None and hasattr(values, "to_numpy") \
            and str(dtype) in ("Int8", "Int16", "Int32", "Int64", "UInt8",
                               "UInt16", "UInt32", "boolean"):
        mask = np.asarray(values.isna())
        if str(dtype) == "boolean":
            raw = np.where(mask, 255, values.to_numpy(dtype=bool,
                                                       na_value=False))
            return _check_len(name, "bool", raw.astype(np.uint8), None,
                              None, n)
        raw = values.to_numpy(dtype=np.int64, na_value=0)
        return _check_len(name, "i64", raw, (~mask).astype(np.uint8), None,
                          n)
    if np.isscalar(values) or values is None:
        if n is None:
            raise ValueError("column '%s': the first column of a frame "
                             "needs values, not one %s"
                             % (name, type(values).__name__))
        values = [values] * n
    if isinstance(values, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(values)
        if values.dtype.kind in "iubf":
            filled = values.filled(values.dtype.type(0)
                                   if values.dtype.kind != "f" else np.nan)
        else:  # filled() would put the fill value ('?', 'N/A') in rows
            filled = np.array(np.ma.getdata(values), dtype=object)
            filled[mask] = None
        t, raw, _, cats = encode(np, name, filled, n)
        if mask.any() and t == "i64":
            return t, raw, (~mask).astype(np.uint8), cats
        if mask.any() and t == "bool":
            raw = np.where(mask, 255, raw).astype(np.uint8)
        return t, raw, None, cats
    a = np.asarray(values)
    if a.ndim == 0 and not isinstance(values, np.ndarray):
        raise TypeError("column '%s': a %s is not a sequence of values (give "
                        "a list, an array or a Series)"
                        % (name, type(values).__name__))
    if a.ndim != 1:
        raise ValueError("column '%s' must be one-dimensional, not of shape "
                         "%s" % (name, a.shape))
    k = a.dtype.kind
    if k == "f":
        return _check_len(name, "f64", np.ascontiguousarray(a, np.float64),
                          None, None, n)
    if k == "b":
        return _check_len(name, "bool", np.ascontiguousarray(a, np.uint8),
                          None, None, n)
    if k in "iu":
        if k == "u" and a.size and int(a.max()) > np.iinfo(np.int64).max:
            raise ValueError("column '%s' holds integers past int64" % name)
        return _check_len(name, "i64", np.ascontiguousarray(a, np.int64),
                          None, None, n)
    if k in "OUS":
        return _encode_objects(np, name, a, n)
    raise TypeError("column '%s': %s values cannot be a column (numbers, "
                    "booleans and strings can: convert with .astype(str) or "
                    ".astype('int64'))" % (name, a.dtype))


def _encode_objects(np, name, a, n):
    """Strings (None or NaN missing) as codes; numbers and booleans of
    an object array as their own type."""
    codes = _factorize_strings(a)
    if codes is not None:
        return _check_len(name, "str", codes[0], None, codes[1], n)
    items = a.tolist()
    present = [v for v in items if not _is_missing(v)]
    if present and all(isinstance(v, bool) for v in present):
        raw = np.array([255 if _is_missing(v) else int(v) for v in items],
                       dtype=np.uint8)
        return _check_len(name, "bool", raw, None, None, n)
    if present and all(isinstance(v, _num.Integral) and
                       not isinstance(v, (bool, np.bool_)) for v in present):
        if not all(-2 ** 63 <= v < 2 ** 63 for v in present):
            raise ValueError("column '%s' holds integers past int64" % name)
        raw = np.array([0 if _is_missing(v) else v for v in items],
                       dtype=np.int64)
        valid = None if len(present) == len(items) else np.array(
            [not _is_missing(v) for v in items], dtype=np.uint8)
        return _check_len(name, "i64", raw, valid, None, n)
    if present and all(isinstance(v, _num.Real) and
                       not isinstance(v, (bool, np.bool_)) for v in present):
        return _check_len(name, "f64", np.array(
            [np.nan if _is_missing(v) else float(v) for v in items],
            dtype=np.float64), None, None, n)
    cats, index = [], {}
    codes = np.empty(len(items), dtype=np.int32)
    for i, v in enumerate(items):
        if _is_missing(v):
            codes[i] = -1
            continue
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif not isinstance(v, str):
            if not any(isinstance(x, (str, bytes)) for x in present):
                raise TypeError(
                    "column '%s' holds %s values: a column holds numbers, "
                    "booleans or strings, one kind (convert it with "
                    ".astype(...))" % (name, ", ".join(
                        sorted({type(x).__name__ for x in present}))))
            raise TypeError("column '%s' mixes strings with %s (row %d): "
                            "convert it with .astype(str)"
                            % (name, type(v).__name__, i))
        c = index.get(v)
        if c is None:
            c = index[v] = len(cats)
            cats.append(v)
        codes[i] = c
    return _check_len(name, "str", codes, None, cats, n)


def _factorize_strings(a):
    """(int32 codes, categories) when a holds strings only (None and NaN
    missing), by pandas' factorize, several times faster than a Python
    loop; None otherwise (no pandas, or other values: the loop says
    which)."""
    try:
        import pandas as pd
    except ImportError:
        return None
    codes, uniques = pd.factorize(a)
    if not all(type(u) is str for u in uniques):
        return None
    return codes.astype("int32"), list(uniques)


def _is_missing(v):
    return v is None or (isinstance(v, float) and v != v) \
        or type(v).__name__ == "NAType"  # pandas.NA


def _check_len(name, t, data, valid, cats, n):
    if n is not None and len(data) != n:
        raise ValueError("column '%s' has %d rows, the frame %d"
                         % (name, len(data), n))
    return t, data, valid, cats


def numbers(np, values, what):
    kind = np.asarray(np.ma.getdata(values)).dtype.kind
    try:
        if kind not in "biufO":
            raise TypeError("not %s" % np.asarray(values).dtype)
        a = np.ma.filled(np.ma.asarray(values).astype(np.float64), np.nan) \
            if isinstance(values, np.ma.MaskedArray) else \
            np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError("metrics.compute: %s must be numbers (%s)"
                        % (what, e)) from None
    if a.ndim != 1:
        raise ValueError("metrics.compute: %s must be one-dimensional" % what)
    return a


def groups(np, values):
    """Group keys as int64, and which rows have none."""
    a = np.asarray(np.ma.getdata(values))
    masked = np.ma.getmaskarray(values) \
        if isinstance(values, np.ma.MaskedArray) else None
    if a.ndim != 1:
        raise ValueError("metrics.compute: group must be one-dimensional")
    if a.dtype.kind in "iub":
        return a.astype(np.int64), np.zeros(len(a), dtype=bool) \
            if masked is None else masked
    if a.dtype.kind == "f":
        missing = np.isnan(a) if masked is None else np.isnan(a) | masked
        if np.isinf(a[~missing]).any():
            raise ValueError("metrics.compute: group holds infinite values")
        return np.where(missing, 0, a).astype(np.int64), missing
    missing = np.array([_is_missing(v) for v in a.tolist()], dtype=bool)
    if masked is not None:
        missing |= masked
    keys = {}
    try:
        return np.array([keys.setdefault(v, len(keys)) for v in a.tolist()],
                        dtype=np.int64), missing
    except TypeError as e:
        raise TypeError("metrics.compute: group keys must be numbers or "
                        "strings (%s)" % e) from None
