"""%%python cells through a real client: results and state as in ipykernel,
rich reprs (a pandas DataFrame as HTML), output streamed while the cell
runs, tracebacks, SyntaxError, interrupt, completion, inspection,
is_complete, %timeit / %%time, input(), and a kernel without libpython."""
import os
import queue
import re
import shutil
import tempfile
import time
import unittest

from jupyter_client.manager import start_new_kernel

from test_features import TIMEOUT, interrupt_until_reply, run, wait_idle
from test_timing import SUMMARY


def kernel_env(**extra):
    """The environment for a kernel: under ASan, whole allocation stacks
    (the default unwinder stops in libraries built without frame
    pointers), so every allocation CPython or numpy makes shows libpython
    in its stack, which tests/lsan_libpython.supp suppresses; and
    nothing else is."""
    env = dict(os.environ, **extra)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "")
                           + ":fast_unwind_on_malloc=0")
    return env


def iopub_until_idle(kc, msg_id):
    msgs = []
    while True:
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if (m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"):
            return msgs
        msgs.append(m)


def failure(kc, code):
    """The error reply's content and the iopub messages of a failing
    cell (no stdin: an input() fails rather than wait)."""
    msg_id = kc.execute(code, allow_stdin=False)
    reply = kc.get_shell_msg(timeout=TIMEOUT)["content"]
    msgs = iopub_until_idle(kc, msg_id)
    assert reply["status"] == "error", (code, reply)
    return reply, msgs


def shell(kc, send, *args, **kw):
    send(*args, **kw)
    return kc.get_shell_msg(timeout=TIMEOUT)["content"]


class PythonCellTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="trellis-python-")
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis",
                                          env=kernel_env())

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    # ---- results and state ------------------------------------------------

    def test_last_expression_is_the_result_and_state_persists(self):
        kc = self.kc
        _, _, r = run(kc, "%%python\n1 + 2")
        self.assertEqual(r["text/plain"], "3")
        run(kc, "%%python\nimport math\nx = 6")
        _, _, r = run(kc, "%%python\ny = x * 7\ny")
        self.assertEqual(r["text/plain"], "42")
        _, _, r = run(kc, "%%python\n_ + math.floor(0.5)")
        self.assertEqual(r["text/plain"], "42", "_ is the last result")
        _, _, r = run(kc, "%%python\nx;")
        self.assertEqual(r, {}, "a trailing ; hides the result")
        _, _, r = run(kc, "%%python\nNone")
        self.assertEqual(r, {}, "None is no result, as in IPython")
        _, _, r = run(kc, "%%python\nfor i in range(2):\n    i\n")
        self.assertEqual(r, {}, "only a last expression statement shows")

    def test_line_magic_runs_python_from_a_lua_cell(self):
        run(self.kc, "%python shared = 'from python'")
        # line magics lead a cell
        _, _, r = run(self.kc, "%python shared.upper()\nlua_side = 1")
        self.assertEqual(r["text/plain"], "'FROM PYTHON'")
        c, _, _ = run(self.kc, "%python", allow_error=True)
        self.assertEqual(c["ename"], "UsageError")
        reply, _ = failure(self.kc, "%%python --save x\n1")
        self.assertEqual(reply["ename"], "UsageError")
        self.assertIn("no options", reply["evalue"])

    def test_debian_packages_import(self):
        _, _, r = run(self.kc, "%%python\nimport sys, numpy\n"
                               "sys.executable, int(numpy.arange(4).sum())")
        self.assertIn("python3", r["text/plain"])
        self.assertIn("6", r["text/plain"])

    # ---- rich output ---------------------------------------------------------

    def test_pandas_dataframe_is_html(self):
        _, _, r = run(self.kc, "%%python\nimport pandas as pd\n"
                               "pd.DataFrame({'plan': ['basic', 'pro'], "
                               "'n': [3, 4]})")
        self.assertIn("<table", r["text/html"])
        self.assertIn("dataframe", r["text/html"])
        self.assertIn("basic", r["text/plain"])

    def test_repr_methods_are_honoured(self):
        _, _, r = run(self.kc, '''%%python
class Rich:
    def _repr_html_(self): return "<b>rich</b>"
    def _repr_svg_(self): return "<svg></svg>"
    def _repr_png_(self): return b"\\x89PNG"
    def _repr_markdown_(self): return "**rich**"
    def __repr__(self): return "Rich()"
Rich()''')
        self.assertEqual(r["text/html"], "<b>rich</b>")
        self.assertEqual(r["image/svg+xml"], "<svg></svg>")
        self.assertEqual(r["image/png"], "iVBORw==")  # base64
        self.assertEqual(r["text/markdown"], "**rich**")
        self.assertEqual(r["text/plain"], "Rich()")
        # a class is not an instance: its methods are not reprs
        _, _, r = run(self.kc, "%%python\nRich")
        self.assertEqual(list(r), ["text/plain"])

    def test_display_and_update(self):
        msg_id = self.kc.execute("%%python\nh = display('one', "
                                 "display_id=True)\nh.update('two')")
        msgs = iopub_until_idle(self.kc, msg_id)
        kinds = [m["msg_type"] for m in msgs
                 if m["msg_type"].endswith("display_data")]
        self.assertEqual(kinds, ["display_data", "update_display_data"])
        self.kc.get_shell_msg(timeout=TIMEOUT)

    # ---- streams -------------------------------------------------------------

    def test_print_streams_while_the_cell_runs(self):
        """The cell waits for a file the test writes only once it has seen
        the first line: buffered output would never arrive."""
        flag = os.path.join(self.dir, "seen")
        msg_id = self.kc.execute(
            "%%%%python\nimport os, sys, time\nprint('first')\n"
            "while not os.path.exists(%r): time.sleep(0.01)\n"
            "print('second', file=sys.stderr)" % flag)
        while True:
            m = self.kc.get_iopub_msg(timeout=TIMEOUT)
            if (m["parent_header"].get("msg_id") == msg_id
                    and m["msg_type"] == "stream"):
                self.assertEqual(m["content"],
                                 {"name": "stdout", "text": "first\n"})
                break
        open(flag, "w").close()
        msgs = iopub_until_idle(self.kc, msg_id)
        self.assertIn({"name": "stderr", "text": "second\n"},
                      [m["content"] for m in msgs
                       if m["msg_type"] == "stream"])
        self.assertEqual(self.kc.get_shell_msg(timeout=TIMEOUT)
                         ["content"]["status"], "ok")

    # ---- errors ---------------------------------------------------------------

    def test_exception_has_a_python_traceback(self):
        reply, msgs = failure(self.kc, "%%python\ndef inner():\n"
                                       "    raise ValueError('bad value')\n"
                                       "inner()")
        self.assertEqual(reply["ename"], "ValueError")
        self.assertEqual(reply["evalue"], "bad value")
        tb = "\n".join(reply["traceback"])
        self.assertIn("Traceback (most recent call last)", tb)
        # the cell's own line numbers (%%python is line 1), named as the
        # Lua engine names them, with the source line
        self.assertRegex(tb, r"In \[\d+\], line 4, in <module>\n\s+inner\(\)")
        self.assertRegex(tb, r"In \[\d+\], line 3, in inner")
        self.assertIn("ValueError\x1b[0m: bad value", tb)
        self.assertNotIn("<trellis>", tb, "the kernel's frames are hidden")
        self.assertEqual([m["msg_type"] for m in msgs].count("error"), 1)
        _, _, r = run(self.kc, "%%python\n'usable'")
        self.assertEqual(r["text/plain"], "'usable'")

    def test_syntax_error_names_the_line(self):
        reply, _ = failure(self.kc, "%%python\nx = 1\ny = (2,\n")
        self.assertEqual(reply["ename"], "SyntaxError")
        self.assertRegex(reply["evalue"], r"In \[\d+\], line 3")
        self.assertRegex("\n".join(reply["traceback"]),
                         r"In \[\d+\], line 3\n\s+y = \(2,")

    def test_system_exit_does_not_end_the_kernel(self):
        reply, _ = failure(self.kc, "%%python\nimport sys\nsys.exit(3)")
        self.assertEqual(reply["ename"], "SystemExit")
        _, _, r = run(self.kc, "%%python\n'alive'")
        self.assertEqual(r["text/plain"], "'alive'")

    # ---- interrupt ---------------------------------------------------------

    def test_interrupt_stops_an_endless_loop(self):
        msg_id = self.kc.execute("%%python\nwhile True: pass")
        reply = interrupt_until_reply(self.km, self.kc)["content"]
        wait_idle(self.kc, msg_id)
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertRegex("\n".join(reply["traceback"]),
                         r"In \[\d+\], line 2")
        _, _, r = run(self.kc, "%%python\n'after'")
        self.assertEqual(r["text/plain"], "'after'")
        _, _, r = run(self.kc, "1 + 1")  # and Lua
        self.assertEqual(r["text/plain"], "2")

    def test_interrupt_request_on_control_stops_python(self):
        msg_id = self.kc.execute("%%python\nwhile True: pass")
        reply = None
        for _ in range(10):  # one that lands before the cell runs is lost
            time.sleep(0.5)
            req = self.kc.session.msg("interrupt_request", {})
            self.kc.control_channel.send(req)
            self.assertEqual(self.kc.get_control_msg(timeout=TIMEOUT)
                             ["content"]["status"], "ok")
            try:
                reply = self.kc.get_shell_msg(timeout=2)["content"]
                break
            except queue.Empty:
                continue
        wait_idle(self.kc, msg_id)
        self.assertEqual(reply["ename"], "KeyboardInterrupt")

    def test_interrupt_stops_a_sleep_and_a_python_sigint_handler(self):
        msg_id = self.kc.execute("%%python\nimport time\ntime.sleep(60)")
        reply = interrupt_until_reply(self.km, self.kc)["content"]
        wait_idle(self.kc, msg_id)
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        # a cell's own handler runs, and Lua stays interruptible after
        run(self.kc, "%%python\nimport signal\ncaught = []\n"
                     "signal.signal(signal.SIGINT, "
                     "lambda *a: caught.append(1))")
        msg_id = self.kc.execute("%%python\nwhile not caught: pass\n"
                                 "'handled'")
        reply = interrupt_until_reply(self.km, self.kc)["content"]
        wait_idle(self.kc, msg_id)
        self.assertEqual(reply["status"], "ok")
        msg_id = self.kc.execute("while true do end")
        reply = interrupt_until_reply(self.km, self.kc)["content"]
        wait_idle(self.kc, msg_id)
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        run(self.kc, "%%python\nimport signal\n"
                     "signal.signal(signal.SIGINT, "
                     "signal.default_int_handler)")

    # ---- completion, inspection, is_complete --------------------------------

    def test_completion(self):
        code = "%%python\nimport os\nos.path.jo"
        c = shell(self.kc, self.kc.complete, code, len(code))
        self.assertIn("join", c["matches"])
        self.assertEqual(c["cursor_end"], len(code))
        self.assertEqual(code[c["cursor_start"]:c["cursor_end"]], "jo")
        # cursor positions count code points, not bytes
        run(self.kc, "%%python\nlängst_value = 1")
        code = "%%python\nlängst_v"
        c = shell(self.kc, self.kc.complete, code, len(code))
        self.assertIn("längst_value", c["matches"])
        self.assertEqual(c["cursor_start"], len("%%python\n"))

    def test_inspection(self):
        code = "%%python\nlen("
        c = shell(self.kc, self.kc.inspect, code, len(code))
        self.assertTrue(c["found"])
        self.assertIn("Signature: len(obj, /)", c["data"]["text/plain"])
        c = shell(self.kc, self.kc.inspect, "%%python\nno_such_name", 12)
        self.assertFalse(c["found"])

    def test_question_mark_pages_the_source(self):
        run(self.kc, "%%python\ndef adds(a, b=2):\n    'Adds.'\n"
                     "    return a + b")
        c, _, _ = run(self.kc, "%%python\nadds??")
        page = c["payload"][0]["data"]["text/plain"]
        self.assertIn("Signature: adds(a, b=2)", page)
        self.assertIn("return a + b", page)

    def test_is_complete_waits_for_a_block(self):
        cases = [("x = 1", "complete", None),
                 ("for i in range(3):", "incomplete", "    "),
                 ("for i in range(3):\n    print(i)", "incomplete", "    "),
                 ("for i in range(3):\n    print(i)\n", "complete", None),
                 ("d = {'a': 1,", "incomplete", ""),
                 ("x = )", "invalid", None)]
        for code, status, indent in cases:
            c = shell(self.kc, self.kc.is_complete, "%%python\n" + code)
            self.assertEqual(c["status"], status, code)
            if indent is not None:
                self.assertEqual(c["indent"], indent, code)

    # ---- timing -----------------------------------------------------------

    def test_timeit_line_and_cell_and_time(self):
        run(self.kc, "%%python\nx = 1")
        _, out, _ = run(self.kc, "%%python\n%timeit x + 1")
        # a first run that warms caches may earn IPython's warning line
        self.assertRegex(re.sub(r"^The slowest run took .*\n", "", out),
                         SUMMARY)
        _, out, _ = run(self.kc, "%%timeit -n 10 -r 3 acc = []\n%%python\n"
                                 "acc.append(1)")
        self.assertRegex(out, SUMMARY)
        # setup runs once per run, before it: 10 appends each time
        _, _, r = run(self.kc, "%%python\n%timeit -n 10 -r 2 -q -o "
                               "x * 2")
        self.assertRegex(r["text/plain"], r"^<TimeitResult : ")
        _, _, r = run(self.kc, "%%python\n_.loops, len(_.all_runs)")
        self.assertEqual(r["text/plain"], "(10, 2)")
        _, out, r = run(self.kc, "%%time\n%%python\nsum(range(10))")
        self.assertRegex(out, r"^CPU times: user .+, sys: .+, total: .+\n"
                              r"Wall time: .+\n")
        self.assertEqual(r["text/plain"], "45")

    def test_timeit_errors_and_interrupt(self):
        reply, _ = failure(self.kc, "%%python\n%timeit 1/0")
        self.assertEqual(reply["ename"], "ZeroDivisionError")
        reply, _ = failure(self.kc, "%%python\n%timeit x +")
        self.assertEqual(reply["ename"], "SyntaxError")
        msg_id = self.kc.execute("%%python\n%timeit -n 1 -r 1 "
                                 "while True: pass")
        reply = interrupt_until_reply(self.km, self.kc)["content"]
        wait_idle(self.kc, msg_id)
        self.assertEqual(reply["ename"], "KeyboardInterrupt")

    # ---- stdin -------------------------------------------------------------

    def test_input_reads_from_the_client(self):
        kc = self.kc
        msg_id = kc.execute("%%python\nname = input('name? ')",
                            allow_stdin=True)
        req = kc.get_stdin_msg(timeout=TIMEOUT)
        self.assertEqual(req["content"]["prompt"], "name? ")
        kc.input("Ada")
        self.assertEqual(kc.get_shell_msg(timeout=TIMEOUT)
                         ["content"]["status"], "ok")
        wait_idle(kc, msg_id)
        _, _, r = run(kc, "%%python\nname")
        self.assertEqual(r["text/plain"], "'Ada'")
        reply, _ = failure(kc, "%%python\ninput()")
        self.assertEqual(reply["ename"], "StdinNotImplementedError")

    def test_who_lists_python_names(self):
        run(self.kc, "%%python\nwho_marker = 1")
        _, out, _ = run(self.kc, "%%python\n%who")
        self.assertRegex(out, r"who_marker\s+int")
        self.assertNotIn("__builtins__", out)


class WithoutLibpythonTests(unittest.TestCase):
    """TRELLIS_LIBPYTHON at a missing file stands for a machine without
    Python: the kernel runs, Python cells say how to enable Python."""

    @classmethod
    def setUpClass(cls):
        env = kernel_env(TRELLIS_LIBPYTHON="/nonexistent/libpython3.so")
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis", env=env)

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    def test_python_cell_says_how_to_enable_python(self):
        for code in ("%%python\n1 + 1", "%python 1"):
            reply, msgs = failure(self.kc, code)
            self.assertEqual(reply["ename"], "PythonUnavailable")
            self.assertIn("/nonexistent/libpython3.so", reply["evalue"])
            self.assertIn("apt-get install libpython3-dev", reply["evalue"])
            self.assertIn("TRELLIS_LIBPYTHON", reply["evalue"])
            self.assertEqual([m["msg_type"] for m in msgs].count("error"), 1)

    def test_lua_and_sql_still_work(self):
        _, _, r = run(self.kc, "x = 20 + 1\nx * 2")
        self.assertEqual(r["text/plain"], "42")
        _, _, r = run(self.kc, "%%sql\nSELECT 6 * 7 AS answer")
        self.assertIn("42", r["text/plain"])

    def test_completion_and_is_complete_do_not_fail(self):
        c = shell(self.kc, self.kc.complete, "%%python\nimp", 12)
        self.assertEqual(c["status"], "ok")
        self.assertEqual(c["matches"], [])
        c = shell(self.kc, self.kc.is_complete, "%%python\nfor x in y:")
        self.assertEqual(c["status"], "complete")  # so it runs and explains


if __name__ == "__main__":
    unittest.main()
