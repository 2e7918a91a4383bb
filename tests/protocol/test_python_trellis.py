"""The `trellis` module of %%python cells attacked as a careless or hostile
user would, through a real kernel: wrong types, lengths and names, released
and made-up handles, copies and pickles, views that outlive their frames, a
thread, interrupts, SQL over frames Python changes in place. Every bad input
must be a Python exception that says what to do, and the kernel and the
registry must stay as they were; the numbers must be Lua's, bit for bit, and
a frame must cross Python, the registry, Lua and SQL with its values,
missing values and types."""
import json
import os
import queue
import shutil
import tempfile
import unittest

from jupyter_client.manager import start_new_kernel

from test_features import TIMEOUT, interrupt_until_reply, wait_idle
from test_python import iopub_until_idle, kernel_env

CHURN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                     "examples", "data", "churn.csv")

# In the kernel: what an expression raises, as [type name, message].
PRELUDE = r'''
import json, trellis, numpy as np, pandas as pd
def _outcome(fn):
    try:
        v = fn()
    except BaseException as e:
        return [type(e).__name__, str(e)]
    return ["no error", repr(v)]
'''


class Kernel:
    """One kernel and the helpers the tests drive it with."""

    def __init__(self, **env):
        self.km, self.kc = start_new_kernel(kernel_name="trellis",
                                            env=kernel_env(**env))

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)

    def execute(self, code):
        """(reply content, stdout and the result's text/plain) of a cell,
        failing or not."""
        msg_id = self.kc.execute(code, allow_stdin=False)
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
        out = []
        for m in iopub_until_idle(self.kc, msg_id):
            if m["msg_type"] == "stream":
                out.append(m["content"]["text"])
            elif m["msg_type"] == "execute_result":
                out.append(m["content"]["data"]["text/plain"])
        return reply, "".join(out)

    def run(self, code):
        """stdout of a cell that must succeed."""
        reply, out = self.execute(code)
        if reply["status"] != "ok":
            raise AssertionError("%s\nfailed: %s: %s" % (
                code, reply.get("ename"), reply.get("evalue")))
        return out

    def py(self, code):
        return self.run("%%python\n" + code)

    def value(self, expr):
        """The JSON value of a Python expression."""
        return json.loads(self.py("print(json.dumps(%s))" % expr))

    def outcome(self, expr):
        """[exception type name, message] of a Python expression, or
        ["no error", repr]."""
        return self.value("_outcome(lambda: (%s))" % expr)


class TrellisAttackTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="trellis-pyattack-")
        cls.start()

    @classmethod
    def start(cls):
        """A kernel on a registry of its own holding churn@1 and
        churn_xgb@1; Lua's churn, train, valid and m."""
        cls.k = Kernel(TRELLIS_REGISTRY=tempfile.mktemp(
            suffix=".sqlite", dir=cls.dir))
        cls.k.run('churn = features.read_csv(%r)\n'
                  'features.register("churn", churn)\n'
                  'train, valid = churn:split{0.8, 0.2, seed = 42}\n'
                  'm = models.train{name = "churn_xgb", data = train, '
                  'target = "churned", features = {"tenure_months", '
                  '"plan", "monthly_price"}, '
                  'params = {num_boost_round = 5}}' % CHURN)
        cls.k.py(PRELUDE)

    @classmethod
    def tearDownClass(cls):
        cls.k.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        if not self.k.km.is_alive():  # a test crashed it (and failed)
            self.k.close()
            self.start()

    def tearDown(self):
        # whatever a test threw at it, the kernel and the registry stand
        if self.k.km.is_alive():
            self.assertEqual(self.k.value(
                "[trellis.features.version('churn').shape, "
                "trellis.features.list()[0]['name']]"),
                [[5000, 15], "churn"])

    def raises(self, expr, ename, *texts):
        got = self.k.outcome(expr)
        self.assertEqual(got[0], ename, (expr, got))
        for t in texts:
            self.assertIn(t, got[1], (expr, got))

    # ---- crashes -------------------------------------------------------------

    def test_select_with_a_name_that_is_no_string_is_a_type_error(self):
        # a non-string name reached strcmp as NULL: the kernel died
        f = "trellis.Frame({'a': [1]})"
        self.raises(f + "[[1]]", "TypeError", "named by a string", "int")
        self.raises(f + ".select('a', None)", "TypeError", "NoneType")
        self.k.py("held = trellis.features.get('churn')")
        self.assertEqual(self.k.value(
            "list(trellis._native['frame_derive'](held._ref.h, 'select', "
            "'[\"plan\", 1]')[:2])"),
            [-2, "select takes column names (strings)"])
        self.assertEqual(self.k.value(
            "list(trellis._native['frame_derive'](held._ref.h, 'pivot', "
            "'')[:2])"), [-2, "frame_derive: no operation 'pivot'"])

    def test_tab_offers_registered_names_in_a_get(self):
        # as Lua's Tab does in features.get("; not file names (jedi's)
        def matches(code):
            r = self.k.kc.complete(code, len(code.encode()), reply=True,
                                   timeout=TIMEOUT)["content"]
            return r["matches"], len(code.encode()) - r["cursor_start"]
        self.assertEqual(matches('%%python\ntrellis.features.get("chu'),
                         (["churn", "churn@1"], 3))
        got, back = matches("%%python\ntrellis.models.get('")
        self.assertIn("churn_xgb@1", got)
        self.assertEqual(back, 0)
        self.assertEqual(matches('%%python\ntrellis.models.get("zz'),
                         ([], 2))

    def test_a_view_cannot_be_made_writable_through_its_base(self):
        # the base's __array_interface__ could be set writable, and
        # asarray() of it then wrote into the registry's own column
        self.k.py("cv = trellis.features.version('churn')['monthly_price']")
        self.assertEqual(self.k.value("hasattr(cv.base, "
                                      "'__array_interface__')"), False)
        self.raises("setattr(cv.flags, 'writeable', True)", "ValueError",
                    "WRITEABLE")

    def test_bytes_from_lua_that_are_not_utf8_are_named(self):
        # a Lua column name that is not UTF-8 vanished from columns, and
        # its strings said "out of memory"
        self.k.run('notutf = features.frame()\n'
                   'notutf["n\\xff"] = {1, 2}\n'
                   'notutf.s = {"a\\xfe", "b"}')
        self.k.py("nu = trellis.lua.notutf")
        self.raises("nu.columns", "ValueError", "column 1's name",
                    "not valid UTF-8")
        self.raises("nu['s']", "ValueError", "column 's' holds a string",
                    "not valid UTF-8")
        self.assertIn("[2 rows x 2 columns]", self.k.value("repr(nu)"))

    def test_long_messages_arrive_whole_characters(self):
        # a message cut at 511 bytes inside an "é" was a UnicodeDecodeError
        self.raises("trellis.features.read_csv('/nonexistent/a' + 'é' * 300)",
                    "OSError", "/nonexistent/a")
        self.raises("trellis.Frame({'a': [1]})['a' + 'é' * 300]",
                    "LookupError", "no column")
        self.raises("trellis.Frame({'a': [1]}).select('a\\x00')",
                    "ValueError", "NUL")

    def test_native_calls_take_arrays_not_addresses(self):
        # n rows at address 0 were read: the kernel died; an address now
        # cannot be given at all, only an array C checks
        self.assertEqual(self.k.value(
            "list(trellis._native['metric']('auc', 1, 1, None, None, "
            "float('nan'), 0))"), [-2, "expected a contiguous array of 'f8' "
                                   "values, got something that is not an "
                                   "array"])
        self.assertEqual(self.k.value(
            "list(trellis._native['metric']('auc', np.zeros(3), "
            "np.zeros(2), None, None, float('nan'), 0))"),
            [-2, "expected a contiguous array of 3 'f8' values, got 2 "
                 "'<f8' values"])
        self.assertEqual(self.k.value(
            "list(trellis._native['metric']('auc', np.zeros(4)[::2], "
            "np.zeros(2), None, None, float('nan'), 0))"),
            [-2, "expected a contiguous array of 'f8' values, got 2 "
                 "'<f8' values, strided"])
        self.assertEqual(self.k.value(
            "list(trellis._native['frame_set'](trellis.Frame()._ref.h, 'x', "
            "'f64', np.zeros(2, dtype='>f8'), None, None))"),
            [-2, "expected a contiguous array of 'f8' values, got 2 "
                 "'>f8' values"])
        self.assertEqual(self.k.value(
            "list(trellis._native['frame_set'](trellis.Frame()._ref.h, 'x', "
            "'i64', np.zeros(2, dtype=np.int64), np.ones(3, np.uint8), "
            "None))"),
            [-2, "expected a contiguous array of 2 'u1' values, got 3 "
                 "'|u1' values"])

    # ---- values that changed on the way in -------------------------------------

    def test_unsigned_integers_past_int64_are_refused(self):
        # np.uint64(2**63) became -9223372036854775808
        self.raises("trellis.Frame({'a': np.array([1, 2**63], "
                    "dtype=np.uint64)})", "ValueError", "past int64")
        self.raises("trellis.Frame({'a': pd.array([1, None, 2**63], "
                    "dtype='UInt64')})", "ValueError", "past int64")
        self.assertEqual(self.k.value(
            "trellis.Frame({'a': np.array([2**63 - 1], dtype=np.uint64)})"
            "['a'].tolist()"), [2 ** 63 - 1])
        self.assertEqual(self.k.value(
            "trellis.Frame({'a': pd.array([7, None], dtype='UInt64')})"
            "['a'].tolist()"), [7, None])

    def test_python_integers_stay_exact_integers(self):
        # [2**60 + 1, None] became f64 (2**60); [2**70] became 1.18e21
        self.assertEqual(self.k.value(
            "[(f.dtypes, f['a'].tolist()) for f in [trellis.Frame("
            "{'a': [2**60 + 1, None, -3]})]][0]"),
            [{"a": "i64"}, [2 ** 60 + 1, None, -3]])
        self.assertEqual(self.k.value(
            "trellis.Frame({'a': np.array([np.int64(5), 2**62], "
            "dtype=object)})['a'].tolist()"), [5, 2 ** 62])
        self.raises("trellis.Frame({'a': [2**70]})", "ValueError",
                    "column 'a' holds integers past int64")
        self.raises("trellis.Frame({'a': [1, None, -2**63 - 1]})",
                    "ValueError", "past int64")
        # ints with floats are numbers, as NumPy has them
        self.assertEqual(self.k.value(
            "trellis.Frame({'a': [1, None, 2.5]}).dtypes"), {"a": "f64"})

    def test_masked_strings_are_missing_not_the_fill_value(self):
        # masked rows of object/str arrays became '?' and 'n'
        for dtype in ("object", "str"):
            self.assertEqual(self.k.value(
                "trellis.Frame({'s': np.ma.masked_array(np.array(['x', 'y', "
                "'z'], dtype=%s), mask=[0, 1, 0])})['s'].tolist()" % dtype),
                ["x", None, "z"], dtype)

    def test_strings_with_nul_and_lone_surrogates(self):
        # both were "frame_set: categories must be JSON"
        self.assertEqual(self.k.value(
            "trellis.Frame({'s': ['a\\x00b', 'c']})['s'].tolist()"),
            ["a\x00b", "c"])
        self.raises("trellis.Frame({'s': ['ok', 'x\\udc80']})", "ValueError",
                    "column 's'", "not valid text")

    def test_pandas_nullable_types(self):
        # Float64 and string said "mixes strings with float / NAType"
        self.assertEqual(self.k.value(
            "[(f.dtypes, [None if v != v else v for v in f['f'].tolist()], "
            "f['s'].tolist()) for f in [trellis.Frame(pd.DataFrame({"
            "'f': pd.array([1.5, None], dtype='Float64'), "
            "'s': pd.array(['x', None], dtype='string')}))]][0]"),
            [{"f": "f64", "s": "str"}, [1.5, None], ["x", None]])
        self.assertEqual(self.k.value(
            "trellis.Frame({'s': np.array(['x', pd.NA], dtype=object)})"
            "['s'].tolist()"), ["x", None])

    def test_object_columns_name_what_they_hold(self):
        # [1, 2.5, True] and Timestamps said "mixes strings with ..."
        got = self.k.outcome("trellis.Frame({'a': np.array([1, 2.5, True], "
                             "dtype=object)})")
        self.assertEqual(got[0], "TypeError")
        self.assertIn("holds bool, float, int values", got[1])
        self.assertNotIn("strings with", got[1])
        self.raises("trellis.Frame({'t': pd.Series(pd.to_datetime("
                    "['2020-01-01']).tz_localize('UTC'))})", "TypeError",
                    "holds Timestamp values")
        self.raises("trellis.Frame({'a': np.array([1, 'x'], dtype=object)})",
                    "TypeError",
                    "mixes strings with int")

    def test_duplicate_column_names_are_refused(self):
        # a DataFrame's duplicates said "must be one-dimensional"; 1 and
        # "1" silently kept one of the two columns
        self.raises("trellis.Frame(pd.DataFrame([[1, 2]], "
                    "columns=['a', 'a']))", "ValueError",
                    "two columns are named 'a'")
        self.raises("trellis.Frame(pd.DataFrame([[1, 2]], columns=[1, '1']))",
                    "ValueError", "two columns are named '1'")
        self.raises("trellis.Frame({1: [1], '1': [2]})", "ValueError",
                    "two columns are named '1'")

    def test_a_set_or_generator_is_not_a_column(self):
        self.raises("trellis.Frame({'a': {1, 2}})", "TypeError",
                    "a set is not a sequence")
        self.raises("trellis.Frame({'a': (i for i in range(2))})",
                    "TypeError", "a generator is not a sequence")

    # ---- bad input everywhere ---------------------------------------------------

    def test_bad_frames_are_clear_errors(self):
        F = "trellis.Frame"
        for expr, ename, text in [
                (F + "(3)", "TypeError", "not int"),
                (F + "(b'x')", "TypeError", "not bytes"),
                (F + "([1, 2])", "TypeError", "not list"),
                (F + "({'a': None})", "ValueError", "needs values"),
                (F + "({'a': [[1, 2], [3, 4]]})", "ValueError",
                 "one-dimensional"),
                (F + "({'a': np.zeros((3, 2))})", "ValueError",
                 "one-dimensional"),
                (F + "({'a': np.array(['2020-01-01'], dtype='M8[D]')})",
                 "TypeError", "datetime64[D] values cannot be a column"),
                (F + "({'a': np.array([1j])})", "TypeError", "complex128"),
                (F + "({'a': [1, 2], 'b': [1]})", "ValueError",
                 "column 'b' has 1 rows, the frame 2"),
                (F + "({'': [1]})", "ValueError", "a column needs a name"),
                (F + "({'a\\x00b': [1]})", "ValueError", "NUL character"),
                (F + "({'a': [1]})[0]", "TypeError", "named by a string"),
                (F + "({'a': [1]})['zz']", "LookupError", "no column 'zz'"),
                (F + "({'a': [1]}).__delitem__('zz')", "LookupError", "zz"),
                (F + "({'a': [1]})['a'].__setitem__(0, 5)", "ValueError",
                 "read-only"),
                (F + "({'a': [1]})['a'].setflags(write=True)", "ValueError",
                 "WRITEABLE")]:
            self.raises(expr, ename, text)
        # strided, byte-swapped, narrow and wide types come in as values
        self.assertEqual(self.k.value(
            "[trellis.Frame({'a': a})['a'].tolist() for a in ["
            "np.arange(10.0)[::3], np.arange(3, dtype='>f8'), "
            "np.arange(3, dtype='>i8'), np.arange(3, dtype=np.float16), "
            "np.arange(3, dtype=np.uint8)]]"),
            [[0.0, 3.0, 6.0, 9.0], [0.0, 1.0, 2.0], [0, 1, 2],
             [0.0, 1.0, 2.0], [0, 1, 2]])
        self.assertEqual(self.k.value(
            "[trellis.Frame({'a': np.array([], dtype=t)}).dtypes['a'] "
            "for t in (float, np.int64, bool, object)]"),
            ["f64", "i64", "bool", "str"])
        self.assertEqual(self.k.value("trellis.Frame({}).shape"), [0, 0])

    def test_registered_versions_and_names(self):
        self.k.py("v = trellis.features.version('churn')\n"
                  "g = trellis.features.get('churn')")
        self.raises("v.__setitem__('x', np.zeros(5000))", "ValueError",
                    "churn@1 is a registered version")
        self.raises("v.__delitem__('plan')", "ValueError", "copy it first")
        self.assertEqual(self.k.value(
            "[g.__setitem__('x', np.zeros(len(g))), g.frozen, "
            "'x' in trellis.features.version('churn').columns][1:]"),
            [False, False])
        R = "trellis.features.register"
        for expr, ename, text in [
                (R + "('bad name!', g)", "ValueError", "not a valid"),
                (R + "('', g)", "ValueError", "needs a name"),
                (R + "('x@2', g)", "ValueError", "not a valid"),
                (R + "('a' * 300, g)", "ValueError", "longer than 128"),
                (R + "(None, g)", "TypeError", "must be str"),
                (R + "('empty', {})", "ValueError", "no columns"),
                (R + "('empty', None)", "ValueError", "no columns"),
                ("trellis.features.get('nope')", "LookupError",
                 "no feature frame 'nope'"),
                ("trellis.features.get('churn@99')", "LookupError",
                 "only version 1"),
                ("trellis.features.get('churn@x')", "ValueError", "number"),
                ("trellis.features.read_csv('/nonexistent.csv')", "OSError",
                 "cannot open"),
                ("trellis.models.get('nope')", "LookupError", "no model"),
                ("trellis.lua.nope", "AttributeError", "Lua has no global"),
                ("setattr(trellis.lua, 'x', 1)", "AttributeError",
                 "read-only")]:
            self.raises(expr, ename, text)

    def test_released_and_made_up_handles(self):
        self.k.py("N = trellis._native\n"
                  "rel = trellis.features.get('churn')\n"
                  "N['release'](rel._ref.h)")
        for expr in ("rel.shape", "rel['plan']", "rel.copy()", "repr(rel)",
                     "rel.__setitem__('x', [1])", "rel.register('x')"):
            self.raises(expr, "ValueError", "this frame was released")
        self.assertEqual(self.k.value(
            "[N[f](h)[0] for f in ('frame_info', 'model_info') "
            "for h in (0, 2**64 - 1, (5 << 32) | 3, 1 << 32)]"), [-2] * 8)
        self.assertEqual(self.k.value(
            "[N['release'](h)[0] for h in (0, 2**64 - 1, 12345)]"),
            [0, 0, 0])
        # a column handle is no frame, a frame handle no model
        self.assertEqual(self.k.value(
            "[(N['frame_info'](c[2])[0], N['model_info'](g._ref.h)[0]) "
            "for g in [trellis.features.get('churn')] "
            "for c in [N['column'](g._ref.h, 'plan')]][0]"), [-2, -2])

    def test_models_predict_only_what_they_can(self):
        self.k.py("m = trellis.models.get('churn_xgb')\n"
                  "valid = trellis.lua.valid")
        for expr, ename, text in [
                ("m.predict(valid.select('plan'))", "LookupError",
                 "no column 'tenure_months', which the model reads"),
                ("m.predict({'tenure_months': ['a'], 'plan': ['x'], "
                 "'monthly_price': [1.0]})", "ValueError",
                 "'tenure_months' is str here but was numeric"),
                ("m.predict(3)", "TypeError", "not int"),
                ("m.predict(trellis.Frame())", "LookupError", "no column"),
                ("m.nope", "AttributeError", "nope")]:
            self.raises(expr, ename, text)
        self.assertEqual(self.k.value("len(m.predict(valid.head(0)))"), 0)
        # predictions equal Lua's, and outlive the model
        self.assertTrue(self.k.value(
            "[bool(np.array_equal(p, trellis.lua.m.predict(valid))) "
            "for p in [m.predict(valid)]][0]"))

    # ---- copies ---------------------------------------------------------------

    def test_copy_deepcopy_and_pickle_leave_the_original_working(self):
        # a deep copy or an unpickled copy released the original's handle
        # when collected; copy.copy of a Model recursed without end
        self.k.py("import copy, pickle, gc\n"
                  "f = trellis.Frame({'a': [1, 2]})\n"
                  "g = copy.deepcopy(f)\n"
                  "g['b'] = [3, 4]\n"
                  "del g\n"
                  "gc.collect()")
        self.assertEqual(self.k.value("f.columns"), ["a"],
                         "the copy is a frame of its own")
        self.assertEqual(self.k.value("copy.copy(f).columns"), ["a"])
        self.raises("pickle.dumps(f)", "TypeError", "cannot be pickled",
                    "to_pandas()")
        self.assertEqual(self.k.value("f['a'].tolist()"), [1, 2])
        self.k.py("mm = trellis.models.get('churn_xgb')\n"
                  "m2 = copy.deepcopy(mm)\n"
                  "m3 = copy.copy(mm)\n"
                  "del m2, m3\n"
                  "gc.collect()")
        self.raises("pickle.dumps(mm)", "TypeError", "cannot be pickled")
        self.assertEqual(self.k.value("len(mm.predict(trellis.lua.valid))"),
                         1000)

    # ---- views outliving what they view ------------------------------------------

    def test_views_outlive_frames_and_a_reset(self):
        self.k.run("lv = features.get('churn')")
        self.k.py("a = trellis.lua.lv['tenure_months']\n"
                  "s = trellis.lua.lv['plan']\n"
                  "codes, cats = trellis.lua.lv.codes('plan')\n"
                  "gv = trellis.features.version('churn')['monthly_price']\n"
                  "before = [int(a.sum()), s[:3].tolist(), int(codes.sum()), "
                  "float(gv.sum())]")
        self.k.run("%reset -f")
        self.k.run("collectgarbage()\ncollectgarbage()")
        self.assertEqual(self.k.value(
            "[int(a.sum()), s[:3].tolist(), int(codes.sum()), "
            "float(gv.sum())] == before"), True)
        # a view of a view kept where %reset does not reach
        self.k.py("import builtins\n"
                  "builtins._kept = trellis.features.get('churn')"
                  "['tenure_months'][10:20]\n"
                  "kept_sum = int(builtins._kept.sum())")
        self.k.py("%reset -f")
        self.k.py("import gc, json, builtins\n"
                  "gc.collect()\n"
                  "print(int(builtins._kept.sum()))")
        self.k.py(PRELUDE)
        self.assertEqual(self.k.value(
            "int(trellis.features.get('churn')['tenure_months'][10:20]"
            ".sum()) == int(__import__('builtins')._kept.sum())"), True)
        # the Lua globals the other tests use
        self.k.run("churn = features.get('churn@1')\n"
                   "train, valid = churn:split{0.8, 0.2, seed = 42}\n"
                   "m = models.get('churn_xgb@1')")

    def test_views_dropped_by_a_thread_while_lua_runs(self):
        self.k.py("import threading, time, gc\n"
                  "vs = [trellis.features.version('churn')[c] for c in "
                  "('tenure_months', 'plan', 'churned')] * 300\n"
                  "vs += [trellis.lua.valid[c] for c in "
                  "('tenure_months', 'plan')] * 300\n"
                  "go = threading.Event()\n"
                  "def drop():\n"
                  "    go.wait()\n"
                  "    while vs:\n"
                  "        vs.pop()\n"
                  "        time.sleep(0)\n"
                  "    gc.collect()\n"
                  "th = threading.Thread(target=drop, daemon=True)\n"
                  "th.start()\n"
                  "go.set()")
        out = self.k.run("local f = features.get('churn')\n"
                         "local n = 0\n"
                         "for i = 1, 300 do\n"
                         "  local g = f:filter(f.tenure_months:gt(i % 20))\n"
                         "  n = n + #g.plan + #valid.plan\n"
                         "end\n"
                         "print(n)")
        self.assertGreater(int(out), 0)
        self.assertEqual(self.k.value("[th.join(), len(vs)][1]"), 0)

    def test_trellis_from_another_thread_is_refused(self):
        self.k.py("import threading\n"
                  "held = trellis.features.get('churn')\n"
                  "thread_results = []\n"
                  "def attempt():\n"
                  "    thread_results.extend(_outcome(fn) for fn in (\n"
                  "        lambda: trellis.Frame({'a': [1]}),\n"
                  "        lambda: trellis.features.get('churn'),\n"
                  "        lambda: trellis.metrics.auc([0, 1], [0.1, 0.2]),\n"
                  "        lambda: trellis.lua.valid,\n"
                  "        lambda: held['plan']))\n"
                  "th2 = threading.Thread(target=attempt)\n"
                  "th2.start()\n"
                  "th2.join()")
        got = self.k.value("thread_results")
        self.assertEqual(len(got), 5)
        for ename, msg in got:
            self.assertIn("the cell's own thread only", msg)

    def test_interrupt_during_metrics_and_copy_in(self):
        k = self.k
        k.py("rng = np.random.default_rng(1)\n"
             "yy = (rng.random(5_000_000) < 0.3).astype(float)\n"
             "ss = rng.random(5_000_000)\n"
             "small = trellis.metrics.auc(yy[:1000], ss[:1000])")
        for loop in ("trellis.metrics.auc(yy, ss)",
                     "trellis.Frame({'a': ss, 'b': yy})",
                     "trellis.metrics.compute('ndcg@5', yy, ss, "
                     "group=np.arange(len(yy)) // 10)"):
            msg_id = k.kc.execute("%%python\nwhile True:\n    " + loop)
            reply = interrupt_until_reply(k.km, k.kc)["content"]
            wait_idle(k.kc, msg_id)
            self.assertEqual(reply["ename"], "KeyboardInterrupt", loop)
            self.assertTrue(k.value(
                "trellis.metrics.auc(yy[:1000], ss[:1000]) == small"))
        k.py("del yy, ss")

    # ---- metrics -----------------------------------------------------------------

    def test_metric_arguments_of_the_wrong_shape_or_kind(self):
        M = "trellis.metrics"
        for expr, ename, text in [
                # numpy's "operands could not be broadcast" before
                (M + ".auc([0, 1, 1], [0.1, 0.2])", "ValueError",
                 "labels have 3 rows, scores 2"),
                (M + ".auc([0, 1], [0.1, 0.2], weight=[1, 2, 3])",
                 "ValueError", "labels have 2 rows, weight 3"),
                (M + ".compute('ndcg@2', [1, 0], [0.1, 0.2], "
                 "group=[1, 1, 2])", "ValueError",
                 "labels have 2 rows, group 3"),
                # complex and datetime were cast with a warning
                (M + ".auc(np.array([1j, 0j]), [0.1, 0.2])", "TypeError",
                 "labels must be numbers"),
                (M + ".auc(np.array(['2020-01-01'], dtype='M8[D]'), [0.5])",
                 "TypeError", "labels must be numbers"),
                (M + ".auc(['a', 'b'], [0.1, 0.2])", "TypeError",
                 "labels must be numbers"),
                (M + ".auc([0, 1], [0.1, 0.2], weight=['a', 'b'])",
                 "TypeError", "weight must be numbers"),
                (M + ".auc(trellis.lua.valid['plan'], "
                 "np.zeros(1000))", "TypeError", "'basic'"),
                (M + ".auc(None, [0.1])", "ValueError", "one-dimensional"),
                (M + ".auc(np.zeros((2, 2)), np.zeros((2, 2)))",
                 "ValueError", "one-dimensional"),
                # a 2-D group was read as its first rows
                (M + ".compute('ndcg@2', [1, 0], [0.9, 0.8], "
                 "group=np.zeros((2, 3)))", "ValueError",
                 "group must be one-dimensional"),
                (M + ".compute('ndcg@2', [1, 0], [0.9, 0.8], "
                 "group=[1.0, np.inf])", "ValueError", "infinite"),
                (M + ".compute('ndcg@2', [1, 0], [0.9, 0.8], "
                 "group=[{}, {}])", "TypeError", "group keys"),
                # a NaN threshold and bins out of range were ignored
                (M + ".accuracy([0, 1], [0.1, 0.9], "
                 "threshold=float('nan'))", "ValueError", "threshold is NaN"),
                (M + ".ece([0, 1], [0.1, 0.9], bins=0)", "ValueError",
                 "from 1 to 10000"),
                (M + ".ece([0, 1], [0.1, 0.9], bins=10**8)", "ValueError",
                 "from 1 to 10000"),
                (M + ".ece([0, 1], [0.1, 0.9], bins=2.5)", "ValueError",
                 "whole number"),
                (M + ".auc(np.ones(5), np.arange(5.0))", "ValueError",
                 "only one class"),
                (M + ".auc([], [])", "ValueError", "no rows"),
                (M + ".auc([0, 2], [0.1, 0.2])", "ValueError",
                 "labels 0/1"),
                (M + ".compute('nope', [1], [1])", "ValueError",
                 "unknown metric 'nope'"),
                (M + ".ndcg([1, 0], [0.1, 0.9], k=0, group=[1, 1])",
                 "ValueError", "ndcg@0")]:
            self.raises(expr, ename, text)

    def test_masked_group_rows_are_left_out(self):
        # the mask of a masked group was dropped: its rows counted
        for group in ("np.ma.masked_array([1, 1, 2, 2], mask=[0, 0, 1, 0])",
                      "np.ma.masked_array([1., 1., 2., 2.], "
                      "mask=[0, 0, 1, 0])",
                      "np.ma.masked_array(np.array(['a', 'a', 'b', 'b'], "
                      "dtype=object), mask=[0, 0, 1, 0])"):
            self.assertEqual(self.k.value(
                "trellis.metrics.compute('mrr', [1, 0, 0, 1], "
                "[0.9, 0.8, 0.7, 0.6], group=%s)" % group), 1.0, group)

    def test_metrics_equal_luas_exactly(self):
        # a negative threshold was ignored (0.5 used): scores may be margins
        k = self.k
        k.run("ev = valid\n"
              "ev.score = ev.watch_hours_30d / 100\n"
              "ev.p = m:predict(ev)\n"
              "ev.margin = ev.score - 0.3\n"
              "ev.w = ev.tenure_months / 10\n"
              "ev.rel = ev.titles_completed_30d / 10\n"
              "lua_results = {}\n"
              "local function put(ok, v)\n"
              "  lua_results[#lua_results + 1] = ok and v or -1\n"
              "end\n"
              "for _, n in ipairs({'auc', 'pr_auc', 'logloss', 'brier', "
              "'accuracy', 'precision', 'recall', 'f1', 'ece'}) do\n"
              "  put(pcall(metrics.compute, n, ev.churned, ev.p))\n"
              "  put(pcall(metrics.compute, n, ev.churned, ev.p, "
              "{weight = ev.w}))\n"
              "end\n"
              "for _, n in ipairs({'rmse', 'mae', 'r2', 'mape'}) do\n"
              "  put(pcall(metrics.compute, n, ev.tenure_months, "
              "ev.sessions_30d))\n"
              "  put(pcall(metrics.compute, n, ev.tenure_months, "
              "ev.sessions_30d, {weight = ev.w}))\n"
              "end\n"
              "for _, n in ipairs({'ndcg@5', 'ndcg', 'precision@3', "
              "'recall@3', 'map@3', 'mrr', 'hit_rate@3'}) do\n"
              "  put(pcall(metrics.compute, n, ev.rel, ev.score, "
              "{group = ev.profiles}))\n"
              "  put(pcall(metrics.compute, n, ev.rel, ev.score, "
              "{group = ev.days_since_last_watch}))\n"
              "  put(pcall(metrics.compute, n, ev.churned, ev.score, "
              "{group = ev.country}))\n"
              "end\n"
              "put(pcall(metrics.compute, 'accuracy', ev.churned, ev.margin, "
              "{threshold = -0.1}))\n"
              "put(pcall(metrics.compute, 'f1', ev.churned, ev.p, "
              "{threshold = 0.2}))\n"
              "put(pcall(metrics.compute, 'ece', ev.churned, ev.p, "
              "{bins = 7}))\n"
              "lua_text = table.concat((function() local t = {} "
              "for i, v in ipairs(lua_results) do "
              "t[i] = string.format('%.17g', v) end return t end)(), ',')")
        py = k.value(
            "(lambda v, M: [fn() for fn in ["
            "*[g for n in ('auc', 'pr_auc', 'logloss', 'brier', 'accuracy', "
            "'precision', 'recall', 'f1', 'ece') for g in ("
            "lambda n=n: M.compute(n, v['churned'], v['p']), "
            "lambda n=n: M.compute(n, v['churned'], v['p'], weight=v['w']))],"
            "*[g for n in ('rmse', 'mae', 'r2', 'mape') for g in ("
            "lambda n=n: M.compute(n, v['tenure_months'], v['sessions_30d']),"
            "lambda n=n: M.compute(n, v['tenure_months'], v['sessions_30d'], "
            "weight=v['w']))],"
            "*[g for n in ('ndcg@5', 'ndcg', 'precision@3', 'recall@3', "
            "'map@3', 'mrr', 'hit_rate@3') for g in ("
            "lambda n=n: M.compute(n, v['rel'], v['score'], "
            "group=v['profiles']),"
            "lambda n=n: M.compute(n, v['rel'], v['score'], "
            "group=v['days_since_last_watch']),"
            # str groups: the codes are the keys Lua uses
            "lambda n=n: M.compute(n, v['churned'], v['score'], "
            "group=v.codes('country')[0]))],"
            "lambda: M.compute('accuracy', v['churned'], v['margin'], "
            "threshold=-0.1),"
            "lambda: M.compute('f1', v['churned'], v['p'], threshold=0.2),"
            "lambda: M.compute('ece', v['churned'], v['p'], bins=7)]])"
            "(trellis.lua.ev, trellis.metrics)")
        lua = [float(x) for x in k.value("trellis.lua.lua_text").split(",")]
        self.assertEqual(len(py), len(lua))
        self.assertNotIn(-1.0, lua, "every metric is defined on these rows")
        for i, (a, b) in enumerate(zip(py, lua)):
            self.assertEqual(a, b, "metric %d: Python %r, Lua %r" % (i, a, b))

    # ---- frames across languages -------------------------------------------------

    def test_a_frame_round_trips_python_registry_lua_sql(self):
        k = self.k
        k.py("src = {'f': np.array([1.5, np.nan, -0.0, np.inf, 1e308]),\n"
             "  'i': np.ma.masked_array([1, -2**63, 2**63 - 1, 0, 5], "
             "mask=[0, 0, 0, 1, 0]),\n"
             "  'b': np.ma.masked_array([True, False, True, False, True], "
             "mask=[0, 1, 0, 0, 0]),\n"
             "  'bb': np.array([True, False, True, False, True]),\n"
             "  's': np.array(['a', None, 'é\\u2603', '', 'a'], "
             "dtype=object),\n"
             "  'ii': np.arange(5)}\n"
             "pf = trellis.Frame(src)\n"
             "rt_ref = trellis.features.register('rt', pf)\n"
             "def same(a, b):\n"
             "    if a.dtype != b.dtype or type(a) is not type(b):\n"
             "        return False\n"
             "    if isinstance(a, np.ma.MaskedArray):\n"
             "        return (np.array_equal(np.ma.getmaskarray(a), "
             "np.ma.getmaskarray(b)) and np.array_equal(a.filled(0), "
             "b.filled(0)))\n"
             "    if a.dtype == object:\n"
             "        return a.tolist() == b.tolist()\n"
             "    if a.dtype.kind == 'f':\n"
             "        return (np.array_equal(a, b, equal_nan=True) and "
             "np.array_equal(np.signbit(a), np.signbit(b)))\n"
             "    return np.array_equal(a, b)\n"
             "def check(fr):\n"
             "    return [fr.dtypes] + [c for c in src if not "
             "same(fr[c], pf[c])]")
        types = {"f": "f64", "i": "i64", "b": "bool", "bb": "bool",
                 "s": "str", "ii": "i64"}
        self.assertEqual(k.value("rt_ref"), "rt@1")
        self.assertEqual(k.value("check(trellis.features.version('rt'))"),
                         [types])
        out = k.run("g = features.get('rt')\n"
                    "print(g.i[2], g.i[4], g.b[2], g.s[2], g.s[3], "
                    "#g.s[4], g.f[3])")
        self.assertEqual(out.split(), ["-9223372036854775808", "nil", "nil",
                                       "nil", "é☃", "0", "-0.0"])
        self.assertEqual(k.value("check(trellis.lua.g)"), [types])
        k.run("%%sql --lua from_sql\nSELECT f, i, b, bb, s, ii FROM rt")
        self.assertEqual(k.value("check(trellis.lua.from_sql)"), [types])
        self.assertEqual(k.value("check(trellis.Frame(pf.to_pandas()))"),
                         [types])
        self.assertEqual(k.value("check(trellis.Frame(pf))"), [types])

    def test_sql_reads_a_frame_changed_in_place(self):
        # SQL kept reading the columns a frame had when first queried
        k = self.k
        k.py("pyf = trellis.Frame({'a': np.arange(10.0), "
             "'b': np.arange(10)})")
        self.assertIn("45", k.run("%%sql\nSELECT sum(b) AS s FROM pyf"))
        k.py("pyf['b'] = np.full(10, 7)\n"
             "del pyf['a']\n"
             "pyf['c'] = np.ones(10)")
        out = k.run("%%sql\nSELECT sum(b) AS s, sum(c) AS t FROM pyf")
        self.assertIn("70", out)
        self.assertNotIn("45", out)
        reply, _ = k.execute("%%sql\nSELECT a FROM pyf")
        self.assertEqual(reply["status"], "error")
        self.assertIn("no such column: a", reply["evalue"])
        k.run("lf = features.get('churn')")
        self.assertIn("80857", k.run("%%sql\nSELECT sum(tenure_months) "
                                     "FROM lf"))
        k.run("lf.tenure_months = lf.tenure_months * 0")
        out = k.run("%%sql\nSELECT sum(tenure_months) FROM lf")
        self.assertNotIn("80857", out)


class RegistrylessAndFreshKernelTests(unittest.TestCase):
    def test_sql_and_magics_do_not_start_python(self):
        # SQL asked the Python engine about every name it did not know,
        # and that started the interpreter
        k = Kernel()
        try:
            k.run("%%sql\nSELECT 1")
            reply, _ = k.execute("%%sql\nSELECT * FROM nothere")
            self.assertIn("no such table", reply["evalue"])
            reply, _ = k.execute("%%sql\nSELECT :nothere")
            self.assertEqual(reply["status"], "error")
            reply, _ = k.execute("%drift nothere nothere2")
            self.assertEqual(reply["status"], "error")
            out = k.run("local n = 0\n"
                        "for line in io.lines('/proc/self/maps') do\n"
                        "  if line:find('libpython', 1, true) then "
                        "n = n + 1 end\n"
                        "end\n"
                        "print(n)")
            self.assertEqual(out.strip(), "0")
            # and once Python runs, SQL sees its frames
            k.py("import trellis\nlate = trellis.Frame({'x': [1, 2]})")
            self.assertIn("3", k.run("%%sql\nSELECT sum(x) FROM late"))
        finally:
            k.close()

    def test_a_kernel_without_registry_says_so(self):
        tmp = tempfile.mkdtemp(prefix="trellis-noreg-")
        with open(os.path.join(tmp, "file"), "w"):
            pass  # a file where the registry's directory would be
        k = Kernel(TRELLIS_REGISTRY=os.path.join(tmp, "file", "r.sqlite"))
        try:
            k.py(PRELUDE)
            for expr in ("trellis.features.get('x')",
                         "trellis.features.register('x', {'a': [1]})",
                         "trellis.Frame({'a': [1]}).register('x')",
                         "trellis.features.list()",
                         "trellis.models.get('x')"):
                got = k.outcome(expr)
                self.assertEqual(got[0], "RuntimeError", got)
                self.assertIn("this kernel has no registry", got[1])
            self.assertEqual(k.value(
                "[trellis.Frame({'a': [1, 2]})['a'].tolist(), "
                "trellis.metrics.auc([0, 1], [0.1, 0.9])]"), [[1, 2], 1.0])
        finally:
            k.close()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
