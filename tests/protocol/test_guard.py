"""%drift and %validate through a real client, and their Lua API: frames
named as variables or registry specs, tables with histograms, results that
code inspects (`_`, result objects), runs recorded in the registry and
still there after a restart, every bad input an error naming it, and an
interrupted %drift."""
import os
import shutil
import sqlite3
import tempfile
import time
import unittest

from jupyter_client.manager import start_new_kernel

from test_features import run

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "unit", "registry", "fixtures", "models")
BINARY = os.path.join(FIXTURES, "binary.csv")
EVAL = os.path.join(FIXTURES, "binary_eval.csv")


class GuardTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="trellis-guard-")
        cls.registry = os.path.join(cls.dir, "reg.sqlite")
        env = dict(os.environ, TRELLIS_REGISTRY=cls.registry)
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis", env=env)
        # valid is binary.csv's sibling; moved has x1 shifted and plan
        # collapsed to one category
        run(cls.kc, 'd = features.read_csv("%s")\n'
                    'valid = features.read_csv("%s")\n'
                    'moved = valid:copy()\n'
                    'moved.x1 = moved.x1 * 1.5 + 1\n'
                    'features.register("hold", d)' % (BINARY, EVAL))

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_drift_table_histograms_and_result(self):
        _, _, r = run(self.kc, "%drift hold moved --threshold 0.25")
        text = r["text/plain"]
        self.assertRegex(text, r"drift of moved from hold \(hold@1\): \d of "
                               r"6 features over PSI 0.25; recorded as "
                               r"drift run \d+")
        lines = text.splitlines()
        # sorted by PSI, flagged rows marked with "!"
        self.assertTrue(lines[2].startswith("! "), text)
        self.assertIn("x1", text)
        html = r["text/html"]
        self.assertIn("<table>", html)
        self.assertIn("<svg", html)
        self.assertIn(">REF</text>", html)
        self.assertIn("x1: PSI", html)
        # the same numbers from code: `_` and drift.compare
        _, out, _ = run(self.kc, 'local m = _\n'
                        'local r = drift.compare("hold", moved, '
                        '{threshold = 0.25})\n'
                        'print(m.ok, m.flagged == r.flagged, '
                        'm.features[1].name == r.features[1].name, '
                        'm.features[1].psi == r.features[1].psi, '
                        'r.max_psi == r.features[1].psi)')
        self.assertEqual(out, "false\ttrue\ttrue\ttrue\ttrue\n")
        _, out, _ = run(self.kc, 'local r = drift.compare(d, valid, '
                        '{features = {"x1", "plan"}})\n'
                        'local x = r.features[1].kind == "numeric" and '
                        'r.features[1] or r.features[2]\n'
                        'print(#r.features, x.ks_method, x.ks_p > 0.05, '
                        'x.js == nil, r.threshold)')
        self.assertEqual(out, "2\texact\ttrue\ttrue\t0.2\n")
        _, _, shown = run(self.kc, "drift.compare(d, valid)")
        self.assertIn("<table>", shown["text/html"])

    def test_prediction_drift(self):
        run(self.kc, 'm = models.train{name = "guard_m", algo = "logistic", '
                     'data = d, target = "label", progress = false, '
                     'features = {"x1", "x2"}}')
        _, _, r = run(self.kc, "%drift --model m valid moved")
        self.assertIn("predictions of guard_m@1", r["text/plain"])
        self.assertRegex(r["text/plain"], r"\n[! ] prediction +numeric")
        _, out, _ = run(self.kc, 'print(_.model, #_.features, '
                        '_.features[1].name)')
        self.assertEqual(out, "guard_m@1\t1\tprediction\n")
        _, out, _ = run(self.kc, 'local r = drift.compare(valid, moved, '
                        '{model = "guard_m", features = {"x2"}})\n'
                        'print(#r.features)')
        self.assertEqual(out, "2\n")

    def test_validate_against_a_frame_and_a_saved_set(self):
        _, _, r = run(self.kc, "%validate valid --against hold")
        self.assertRegex(r["text/plain"], r"validation of valid against "
                                          r"hold@1: passed all \d+ checks")
        self.assertIn("<table>", r["text/html"])
        _, out, _ = run(self.kc, "print(_.ok, #_.failures, _.against)")
        self.assertEqual(out, "true\t0\thold@1\n")
        # edit inferred expectations, save them, check against the name
        _, out, _ = run(self.kc, 's = validate.infer(d)\n'
                        's.columns.x2.max = 5\n'
                        's.columns.plan.categories = {"basic", "pro"}\n'
                        'print(validate.save("guard_set", s), '
                        'validate.save("guard_set", d))')
        self.assertEqual(out, "guard_set@1\tguard_set@2\n")
        _, _, r = run(self.kc, "%validate moved --schema guard_set@1")
        text = r["text/plain"]
        # x1 moved out of its range too
        self.assertIn("against schema guard_set@1: FAILED 3 of", text)
        self.assertRegex(text, r"FAIL +range +x2 .*rows outside")
        self.assertRegex(text, r"FAIL +categories +plan .*unseen: ")
        self.assertIn("\u2717", r["text/html"])
        _, out, _ = run(self.kc, 'local f = _.failures\n'
                        'print(_.ok, #f, f[1].column, f[2].column, '
                        'f[2].check, f[3].column, f[3].check)')
        self.assertEqual(out, "false\t3\tx1\tx2\trange\tplan\t"
                              "categories\n")
        _, out, _ = run(self.kc, 'local r = validate.check(valid, '
                        '"guard_set")\n'
                        'local t = validate.check(moved, {columns = '
                        '{x1 = {type = "str"}}, allow_extra_columns = true})\n'
                        'print(r.ok, r.against, t.ok, t.failures[1].observed, '
                        'validate.get("guard_set@1").columns.x2.max)')
        self.assertEqual(out, "true\tschema guard_set@2\tfalse\tf64\t5\n")

    def test_errors_name_the_problem(self):
        run(self.kc, 'empty = valid:filter(valid.x2:gt(1000))\n'
                     'text = features.frame{x1 = {"a", "b"}}')
        cases = [
            ("%drift hold", "name two frames"),
            ("%drift a b c", "name two frames"),
            ("%drift hold valid --threshold -1", "--threshold takes a PSI"),
            ("%drift hold valid --bins 3", "unknown option --bins for "
             "%drift; options: --features, --threshold, --model; usage: "
             "%drift REF NEW [--features a,b] [--threshold 0.2] "
             "[--model MODEL]"),
            ("%drift hold valid --threshold=x", "--threshold takes a PSI "
             "above 0, such as 0.2, not 'x'"),
            ("%drift hold valid --features x1,,x2", "--features takes "
             "column names separated by commas, such as age,plan, not "
             "'x1,,x2'"),
            ("%validate valid --against hold --against hold",
             "--against is given twice; give it once"),
            ("%drift hold nowhere", "no feature frame 'nowhere'"),
            ("%drift hold valid --features x1,nope",
             "no column 'nope' in hold"),
            ("%drift hold text", "feature 'x1' is f64 in hold but str in "
                                 "text"),
            ("%drift hold empty", "empty has no rows"),
            ("%drift hold valid --model nomodel", "no model 'nomodel'"),
            ("%validate valid", "give --against REF_FRAME"),
            ("%validate valid --against hold --schema x", "give --against"),
            ("%validate valid --schema nope_set",
             "no expectation set 'nope_set'"),
            ("%validate valid --against nowhere",
             "no feature frame 'nowhere'"),
            ("%validate valid --against empty", "has no rows"),
            ('drift.compare(d, "nowhere")', "no feature frame 'nowhere'"),
            ('drift.compare(d, valid, {threshold = 0})', "threshold must"),
            ('drift.compare(d, 3)', "must be a frame"),
            ('validate.check(valid, {columns = {x1 = {typ = "f64"}}})',
             "unknown key 'typ'"),
            ('validate.check(valid, "nothing_here")',
             "no expectation set or registered frame called "
             "'nothing_here'"),
            ('validate.save("9bad", d)', "not a valid expectation set name"),
        ]
        for code, needle in cases:
            reply, _, _ = run(self.kc, code, allow_error=True)
            self.assertEqual(reply["status"], "error", code)
            self.assertIn(needle, reply["evalue"], code)
        _, out, _ = run(self.kc, "print(#valid)")
        self.assertEqual(out, "150\n")

    def test_runs_are_recorded_and_survive_a_restart(self):
        env = dict(os.environ,
                   TRELLIS_REGISTRY=os.path.join(self.dir, "restart.sqlite"))
        km, kc = start_new_kernel(kernel_name="trellis", env=env)
        try:
            run(kc, 'd = features.read_csv("%s")\n'
                    'features.register("base", d)\n'
                    'validate.save("base_set", d)' % BINARY)
            run(kc, 'live = features.read_csv("%s")' % EVAL)
            run(kc, "%drift base live")
            run(kc, "%validate live --schema base_set")
            km.restart_kernel(now=False)
            kc.wait_for_ready(timeout=60)
            # the expectations are still there after the restart
            _, out, _ = run(kc, 'print(validate.get("base_set")'
                                '.columns.plan.type)')
            self.assertEqual(out, "str\n")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        db = sqlite3.connect(env["TRELLIS_REGISTRY"])
        try:
            runs = db.execute("SELECT ref_frame, ref_name, new_frame, "
                              "new_name, threshold, ok FROM drift_runs").fetchall()
            self.assertEqual(runs, [("base@1", "base", None, "live", 0.2,
                                     runs[0][5])])
            n = db.execute("SELECT COUNT(*) FROM drift_features WHERE run = 1"
                           ).fetchone()[0]
            self.assertEqual(n, 6)
            v = db.execute("SELECT name, against, ok FROM validations"
                           ).fetchall()
            self.assertEqual(v, [("live", "schema base_set@1", 1)])
        finally:
            db.close()

    def test_interrupt_stops_a_long_drift(self):
        # 40 features whose samples never overlap, 10000 against 9999
        # values: each exact p-value walks a 10^8-step lattice
        cols = ["c%d" % i for i in range(40)]
        ref = os.path.join(self.dir, "ref.csv")
        new = os.path.join(self.dir, "new.csv")
        for path, n, base in ((ref, 10000, 0), (new, 9999, 100000)):
            with open(path, "w") as f:
                f.write(",".join(cols) + "\n")
                row = ",".join("%d" for _ in cols) + "\n"
                for i in range(n):
                    f.write(row % tuple(base + i + k for k in range(40)))
        run(self.kc, 'bigref = features.read_csv("%s")\n'
                     'bignew = features.read_csv("%s")' % (ref, new))
        msg_id = self.kc.execute("%drift bigref bignew")
        while True:
            m = self.kc.get_iopub_msg(timeout=60)
            if (m["parent_header"].get("msg_id") == msg_id
                    and m["msg_type"] == "execute_input"):
                break
        time.sleep(1.0)
        t0 = time.time()
        self.km.interrupt_kernel()
        reply = self.kc.get_shell_msg(timeout=60)["content"]
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertLess(time.time() - t0, 10)
        while True:
            m = self.kc.get_iopub_msg(timeout=60)
            if (m["parent_header"].get("msg_id") == msg_id
                    and m["msg_type"] == "status"
                    and m["content"]["execution_state"] == "idle"):
                break
        _, out, _ = run(self.kc, "print(#valid)")
        self.assertEqual(out, "150\n")


class WithoutRegistry(unittest.TestCase):
    """A kernel whose registry could not be opened still checks drift and
    validation, and says in the notebook that it did not record them."""

    def test_not_recorded_is_said_in_the_output(self):
        env = dict(os.environ, TRELLIS_REGISTRY="/proc/trellis-none/r.sqlite")
        km, kc = start_new_kernel(kernel_name="trellis", env=env)
        try:
            run(kc, "a = features.frame{x = {1, 2, 3, 4}}\n"
                    "b = features.frame{x = {5, 6, 7, 8}}")
            for code in ("%drift a b", "%validate b --against a"):
                _, _, r = run(kc, code)
                self.assertIn("not recorded: the registry is not available",
                              r["text/plain"], code)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    unittest.main()
