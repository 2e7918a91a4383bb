"""Python sees the registry's columns without copying them (issue 12).

A version with a 10M-row f64 column (80 MB) is registered once; the
kernel's resident memory (VmRSS, read inside the Python cell: the
interpreter is embedded in the kernel process) is taken before and after
viewing it every way the trellis module offers: features.version and
features.get, f["x"], reductions over the view, to_pandas(), and a Lua
global's frame on the same version. Viewing must not grow it by more than
a tenth of the column. So that the measurement can fail, the same
measurement around a real copy (np.array(view)) must see the column's
size. The views also share one address, end their base chain at the
trellis memory object, refuse writes, and keep a frame's memory alive
until the last of them goes.

Under AddressSanitizer (libasan mapped in the kernel) the memory freed by
the last view is held in ASan's quarantine rather than returned, so that
one bound is not checked there; every other check is.
"""
import json
import unittest

from jupyter_client.manager import start_new_kernel

from test_features import run
from test_python import kernel_env

N = 10_000_000
COLUMN = N * 8              # bytes of one f64 column
VIEW_BOUND = COLUMN // 10   # what viewing may add: far less than a copy

SETUP = '''%%python
import ctypes, gc, json
import numpy as np
import pandas as pd
import trellis

N = {n}
_libc = ctypes.CDLL(None)


def rss():
    """Resident bytes, less what malloc keeps of memory already freed (a
    temporary of pandas's, say): that is no copy of a column."""
    _libc.malloc_trim(0)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024


def base_end(a):
    """The object at the end of a view's base chain."""
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return a


def address(a):
    return a.__array_interface__["data"][0]


# every path a view takes, once, on a small frame: the first call of each
# imports and caches what later calls reuse, which is not a copy
trellis.features.register("nocopy_warm", {{"x": np.arange(10.0)}})
_w = trellis.features.get("nocopy_warm@1")
_w["x"].sum(), _w.to_pandas()["x"].sum()
trellis.features.version("nocopy_warm@1")["x"].mean()
del _w
# the 80 MB column: NumPy's arange, copied in once, then freed
big = trellis.features.register("nocopy_big",
                                {{"x": np.arange(N, dtype=np.float64)}})
gc.collect()
with open("/proc/self/maps") as _f:
    sanitized = "libasan" in _f.read()
print(json.dumps({{"ref": big, "sanitized": sanitized}}))
'''.format(n=N)


class PythonNoCopyTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis",
                                          env=kernel_env())
        out = cls.cell(SETUP)
        cls.ref, cls.sanitized = out["ref"], out["sanitized"]
        # a Lua global holding a working frame on the same version
        run(cls.kc, 'lua_big = features.get("%s")' % cls.ref)

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    @classmethod
    def cell(cls, code):
        """Runs a Python cell that prints one JSON object; that object."""
        _, out, _ = run(cls.kc, code)
        return json.loads(out.strip().splitlines()[-1])

    def test_viewing_a_version_does_not_copy_it(self):
        out = self.cell('''%%python
steps, kept = [], []


def step(label, fn):
    """fn's result, kept alive; what it added to RSS, logged."""
    r0 = rss()
    kept.append(fn())
    steps.append((label, rss() - r0))
    return kept[-1]


r0 = rss()
v = step("features.version", lambda: trellis.features.version(big))
a = step('version["x"]', lambda: v["x"])
g = step("features.get", lambda: trellis.features.get(big))
b = step('get["x"]', lambda: g["x"])
df = step("to_pandas", lambda: g.to_pandas())
lua = step('trellis.lua.lua_big["x"]', lambda: trellis.lua.lua_big["x"])
sums = [float(step(label, fn)) for label, fn in (
    ("sum", lambda: a.sum()), ("mean", lambda: b.mean()),
    ("dot", lambda: np.dot(a, a)),
    # skipna=True would build a 10 MB mask of pandas's own (a temporary,
    # but one ASan's quarantine keeps resident)
    ('df["x"].sum', lambda: df["x"].sum(skipna=False)),
    ("max", lambda: lua.max()))]
grown = rss() - r0
del v, a, g, b, df, lua, kept
print(json.dumps({"grown": grown, "steps": steps, "sums": sums}))
''')
        n = float(N)
        total, mean, squares, pd_total, top = out["sums"]
        self.assertEqual((total, mean, pd_total, top),
                         (n * (n - 1) / 2, (n - 1) / 2, n * (n - 1) / 2,
                          n - 1))
        self.assertAlmostEqual(squares / ((n - 1) * n * (2 * n - 1) / 6),
                               1.0, places=9)
        self.assertLess(out["grown"], VIEW_BOUND,
                        "viewing an 80 MB column from Python grew the "
                        "kernel by %.1f MB: %s" % (out["grown"] / 1e6, ", ".join(
                            "%s %+.1f MB" % (label, d / 1e6)
                            for label, d in out["steps"])))

    def test_a_copy_is_seen_by_the_same_measurement(self):
        """Without this the bound above could pass for a broken RSS read."""
        out = self.cell('''%%python
a = trellis.features.version(big)["x"]
r0 = rss()
c = np.array(a)
grown = rss() - r0
print(json.dumps({"grown": grown, "shared": bool(np.shares_memory(a, c)),
                  "writeable": c.flags.writeable, "equal": bool((a == c).all())}))
del a, c
''')
        self.assertFalse(out["shared"])
        self.assertTrue(out["writeable"] and out["equal"])
        self.assertGreater(out["grown"], 0.9 * COLUMN,
                           "np.array(view) copies 80 MB; RSS grew %.1f MB"
                           % (out["grown"] / 1e6))
        self.assertLess(out["grown"], 1.1 * COLUMN)

    def test_views_of_a_version_share_its_memory(self):
        out = self.cell('''%%python
a = trellis.features.version(big)["x"]
b = trellis.features.get(big)["x"]
lua = trellis.lua.lua_big["x"]
p = trellis.features.get(big).to_pandas()["x"].to_numpy()
ends = {type(base_end(x)) for x in (a, b, lua, p)}
errors = []
for attempt in ("a[0] = 1.0", "a.flags.writeable = True",
                "p[0] = 1.0", "np.add(a, 1, out=a)"):
    try:
        exec(attempt)
        errors.append(None)
    except ValueError as e:
        errors.append(str(e))
print(json.dumps({
    "same_address": len({address(x) for x in (a, b, lua, p)}) == 1,
    "shared": [bool(np.shares_memory(a, x)) for x in (b, lua, p)],
    "ends": sorted("%s.%s" % (t.__module__, t.__qualname__) for t in ends),
    "writeable": [x.flags.writeable for x in (a, b, lua, p)],
    "owndata": [x.flags.owndata for x in (a, b, lua, p)],
    "errors": errors, "first": float(a[0])}))
del a, b, lua, p
''')
        self.assertTrue(out["same_address"])
        self.assertEqual(out["shared"], [True, True, True])
        self.assertEqual(out["ends"], ["trellis._Memory"],
                         "every view rests on the column's own memory")
        self.assertEqual(out["writeable"], [False] * 4)
        self.assertEqual(out["owndata"], [False] * 4)
        self.assertNotIn(None, out["errors"], "a write went through")
        self.assertEqual(out["first"], 0.0)

    def test_a_view_keeps_its_frame_alive_then_lets_it_go(self):
        out = self.cell('''%%python
f = trellis.Frame({"z": np.arange(N, dtype=np.float64)})
gc.collect()
r0 = rss()
z = f["z"]
same = address(z) == address(f["z"])
del f
gc.collect()
total = float(z.sum())  # the frame is gone; its column lives in z
r1 = rss()
del z
gc.collect()
print(json.dumps({"same": same, "total": total, "kept": r1 - r0,
                  "freed": r1 - rss()}))
''')
        self.assertTrue(out["same"])
        self.assertEqual(out["total"], float(N) * (N - 1) / 2)
        self.assertGreater(out["kept"], -VIEW_BOUND,
                           "the column went while a view held it")
        if self.sanitized:
            self.skipTest("ASan's quarantine holds freed memory: the "
                          "release is not visible in RSS")
        self.assertGreater(out["freed"], 0.9 * COLUMN,
                           "the last view went but the column stayed")


if __name__ == "__main__":
    unittest.main()
