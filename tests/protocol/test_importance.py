"""%importance and models.importance through a real client: the table, the
bar chart and the result as data for XGBoost's gain, a linear model's
coefficients and permutation importance (built-in and business metrics);
every run recorded against the model version and followed across
versions with --history, after a restart too; usage errors that say what
to give; errors that name the model, frame or metric; an interrupt that
records nothing."""
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
MIME = "application/vnd.trellis.importance+json"
USAGE = "usage: %importance MODEL [--method gain|weight|cover"


def values(data):
    return {f["feature"]: f["value"] for f in data["features"]}


class ImportanceTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="trellis-importance-")
        cls.registry = os.path.join(cls.dir, "reg.sqlite")
        cls.start()
        run(cls.kc, 'd = features.read_csv("%s")\n'
                    'features.register("imp_eval", features.read_csv("%s"))\n'
                    'x = models.train{name = "imp_x", data = d, '
                    'target = "label", progress = false, '
                    'params = {max_depth = 3, num_boost_round = 10, '
                    'nthread = 1}}\n'
                    'l = models.train{name = "imp_l", algo = "logistic", '
                    'data = d, target = "label", progress = false, '
                    'features = {"x1", "x2", "x3", "plan"}}'
            % (os.path.join(FIXTURES, "binary.csv"),
               os.path.join(FIXTURES, "binary_eval.csv")))

    @classmethod
    def start(cls):
        env = dict(os.environ, TRELLIS_REGISTRY=cls.registry)
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis", env=env)

    @classmethod
    def stop(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    @classmethod
    def tearDownClass(cls):
        cls.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def recorded(self, name):
        db = sqlite3.connect(self.registry)
        try:
            return db.execute("SELECT count(*) FROM importances WHERE name "
                              "= ?", (name,)).fetchone()[0]
        finally:
            db.close()

    def test_gain_table_chart_and_the_result_as_data(self):
        _, _, r = run(self.kc, "%importance x")
        text = r["text/plain"]
        self.assertRegex(text, r"^gain importance of imp_x@1: the average "
                               r"gain of the splits on it \(XGBoost\)")
        self.assertRegex(text, r"recorded as importance run \d+")
        data = r[MIME]
        self.assertEqual(data["method"], "gain")
        self.assertEqual(data["model"], "imp_x@1")
        self.assertEqual([f["feature"] for f in data["features"]],
                         sorted(values(data), key=values(data).get,
                                reverse=True))
        self.assertEqual(set(values(data)),
                         {"x1", "x2", "x3", "plan", "city"})
        self.assertEqual(len(data["inputs"]), 8)  # plan one-hot: 4
        self.assertRegex(text, r"\n  1  %s " % data["features"][0]["feature"])
        html = r["text/html"]
        self.assertEqual(html.count("<table>"), 1)
        self.assertIn("<svg", html)
        self.assertEqual(html.count("<rect"), 5)
        self.assertIn("recorded as importance run %d" % data["recorded"],
                      text)
        # the same numbers from Lua, and in _
        _, out, _ = run(self.kc, 'print(x:importance{}:value("x1"), '
                                 '_.features[1].feature)')
        v, first = out.split()
        self.assertAlmostEqual(float(v), values(data)["x1"], places=9)
        self.assertEqual(first, data["features"][0]["feature"])

    def test_inputs_top_and_other_xgboost_types(self):
        _, _, r = run(self.kc, "%importance x --method weight --top 2")
        text = r["text/plain"]
        self.assertIn("the number of splits on it", text)
        self.assertIn("... and 3 more features (--top shows more)", text)
        self.assertNotIn("per encoded input:", text)
        self.assertEqual(r["text/html"].count("<rect"), 2)
        _, _, r = run(self.kc, "%importance x --method weight --inputs")
        text = r["text/plain"]
        self.assertIn("per encoded input:", text)
        self.assertRegex(text, r"plan=\w+ +\d+ +plan")
        data = r[MIME]
        plan = sum(i["value"] for i in data["inputs"]
                   if i["feature"] == "plan")
        self.assertEqual(values(data)["plan"], plan)
        for t in ("cover", "total_gain", "total_cover"):
            _, _, r = run(self.kc, "%importance imp_x@1 --method=" + t)
            self.assertEqual(r[MIME]["method"], t)

    def test_linear_models_default_to_coefficients(self):
        _, _, r = run(self.kc, "%importance l")
        data = r[MIME]
        self.assertEqual(data["method"], "coef")
        self.assertIn("|coefficient| per standard deviation",
                      r["text/plain"])
        self.assertEqual(len(data["inputs"]), 7)
        plan = sum(i["value"] for i in data["inputs"]
                   if i["feature"] == "plan")
        self.assertAlmostEqual(values(data)["plan"], plan, places=12)
        self.assertTrue(all(f["value"] >= 0 for f in data["features"]))

    def test_permutation_on_a_frame(self):
        code = ("%importance x --on imp_eval --metric logloss --repeats 3 "
                "--seed 2")
        _, _, r = run(self.kc, code)
        data = r[MIME]
        self.assertEqual((data["method"], data["metric"], data["on"],
                          data["repeats"], data["seed"], data["rows"]),
                         ("permutation", "logloss", "imp_eval@1", 3, 2, 150))
        self.assertFalse(data["higher_is_better"])
        self.assertEqual(data["inputs"], [])
        for f in data["features"]:
            self.assertEqual(len(f["values"]), 3)
            self.assertAlmostEqual(f["value"], sum(f["values"]) / 3)
        self.assertIn("the drop in logloss", r["text/plain"])
        self.assertIn("lower is better", r["text/plain"])
        # error bars: one per feature with a spread
        html = r["text/html"]
        spread = sum(1 for f in data["features"] if f["std"] > 0)
        self.assertEqual(html.count("<path"), spread)
        # the same seed, the same shuffles
        _, _, again = run(self.kc, code)
        self.assertEqual(values(again[MIME]), values(data))
        # --on alone asks for permutation, with the classifier's auc
        _, _, r = run(self.kc, "%importance x --on imp_eval --repeats 2")
        self.assertEqual((r[MIME]["method"], r[MIME]["metric"]),
                         ("permutation", "auc"))

    def test_business_metric(self):
        run(self.kc, 'metrics.define("imp_sep", "function(y, p, w) '
                     'local s = 0 for i = 1, #y do s = s + (y[i] == 1 and '
                     'p[i] or -p[i]) end return s / #y end")')
        _, _, r = run(self.kc, "%importance l --on d --metric imp_sep "
                               "--repeats 2")
        data = r[MIME]
        self.assertEqual(data["metric"], "imp_sep")
        self.assertTrue(data["higher_is_better"])
        self.assertGreater(data["features"][0]["value"], 0)
        _, out, _ = run(self.kc, 'local r = l:importance{on = "imp_eval", '
                                 'metric = "imp_sep", repeats = 2}\n'
                                 'print(r.metric, r.rows, r.method)')
        self.assertEqual(out, "imp_sep\t150\tpermutation\n")

    def test_lua_result_value(self):
        _, out, _ = run(self.kc, 'r = models.importance("imp_x@1", {on = d, '
                                 'repeats = 2, seed = 7})\n'
                                 'local v, s = r:value("x1")\n'
                                 'print(r.method, r.repeats, #r.features, '
                                 'type(v) == "number", s >= 0, '
                                 'r.recorded ~= nil)')
        self.assertEqual(out, "permutation\t2\t5\ttrue\ttrue\ttrue\n")
        _, _, shown = run(self.kc, "r")
        self.assertIn("<svg", shown["text/html"])
        self.assertIn("permutation importance of imp_x@1",
                      shown["text/plain"])
        reply, _, _ = run(self.kc, 'r:value("nope")', allow_error=True)
        self.assertIn("no feature 'nope'", reply["evalue"])
        reply, _, _ = run(self.kc, "x:importance{repeats = 0, on = d}",
                          allow_error=True)
        self.assertIn("repeats is a whole number from 1 to 1000",
                      reply["evalue"])
        reply, _, _ = run(self.kc, 'l:importance{method = "gain"}',
                          allow_error=True)
        self.assertIn("gain is an XGBoost importance and imp_l@1 is "
                      "logistic: use coef or permutation", reply["evalue"])

    def test_history_across_versions_and_a_restart(self):
        run(self.kc, 'h1 = models.train{name = "imp_h", data = d, target = '
                     '"label", progress = false, features = {"x1", "x2"}, '
                     'params = {num_boost_round = 5, nthread = 1}}\n'
                     'h2 = models.train{name = "imp_h", data = d, target = '
                     '"label", progress = false, features = {"x1", "x2", '
                     '"plan"}, params = {num_boost_round = 8, nthread = 1}}')
        _, _, r1 = run(self.kc, "%importance imp_h@1 --method total_gain")
        _, _, r2 = run(self.kc, "%importance h2 --method total_gain")
        self.assertEqual(self.recorded("imp_h"), 2)
        for attempt in range(2):
            _, _, h = run(self.kc, "%importance imp_h --history")
            data = h[MIME]
            self.assertEqual(data["method"], "total_gain")
            self.assertEqual([v["ref"] for v in data["versions"]],
                             ["imp_h@1", "imp_h@2"])
            rows = {f["feature"]: f["values"] for f in data["features"]}
            self.assertEqual(rows["plan"][0], None)
            self.assertEqual(rows["x1"], [values(r1[MIME])["x1"],
                                          values(r2[MIME])["x1"]])
            self.assertEqual(data["features"][0]["feature"],
                             r2[MIME]["features"][0]["feature"])
            text = h["text/plain"]
            self.assertIn("total_gain importance of imp_h across 2 versions",
                          text)
            self.assertRegex(text, r"imp_h@1 +imp_h@2 +\u0394 latest")
            self.assertIn("<svg", h["text/html"])
            if attempt == 0:  # a restarted kernel reads the same
                type(self).stop()
                type(self).start()
                run(self.kc, 'd = features.read_csv("%s")\n'
                             'x = models.get("imp_x")\n'
                             'l = models.get("imp_l")'
                    % os.path.join(FIXTURES, "binary.csv"))
        _, out, _ = run(self.kc, 'local h = models.importance_history('
                                 '"imp_h", {method = "total_gain"})\n'
                                 'print(#h.versions, h:value("x1")[2] > 0)')
        self.assertEqual(out, "2\ttrue\n")
        reply, _, _ = run(self.kc, "%importance imp_h --history --method "
                                   "cover", allow_error=True)
        self.assertEqual(reply["ename"], "ImportanceError")
        self.assertIn("no version of imp_h has a recorded cover importance: "
                      "run %importance imp_h --method cover", reply["evalue"])

    def test_usage_errors_say_what_to_give(self):
        cases = [
            ("%importance", "name the model"),
            ("%importance x l", "name one model, not 'l' too"),
            ("%importance x --method shap", "unknown method 'shap': use "
                                            "gain, weight, cover"),
            ("%importance x --method permutation", "permutation importance "
                                                   "needs --on FRAME"),
            ("%importance x --metric auc", "needs --on FRAME"),
            ("%importance x --method gain --on d", "--on, --metric, "
                                                   "--repeats and --seed are "
                                                   "for --method permutation;"
                                                   " gain reads the model"),
            ("%importance x --on d --repeats 0", "--repeats takes a whole "
                                                 "number from 1 to 1000, not "
                                                 "'0'"),
            ("%importance x --on d --repeats many", "not 'many'"),
            ("%importance x --on d --seed -1", "--seed takes a whole number"),
            ("%importance x --top 0", "--top takes a whole number from 1"),
            ("%importance x --history --on d", "--history shows the "
                                               "recorded runs"),
            ("%importance x --frobnicate 3", "unknown option --frobnicate"),
            ("%importance x --on", "--on lacks its value"),
        ]
        for code, needle in cases:
            reply, _, _ = run(self.kc, code, allow_error=True)
            self.assertEqual(reply["status"], "error", code)
            self.assertEqual(reply["ename"], "UsageError", code)
            self.assertIn(needle, reply["evalue"], code)
            self.assertIn(USAGE, reply["evalue"], code)

    def test_errors_name_the_problem(self):
        run(self.kc, 'narrow = d:select{"x1", "label"}\n'
                     'r_frame = features.read_csv("%s")\n'
                     'reg = models.train{name = "imp_r", data = r_frame, '
                     'target = "y", progress = false, '
                     'params = {num_boost_round = 3, nthread = 1}}'
            % os.path.join(FIXTURES, "regression.csv"))
        before = self.recorded("imp_x")
        cases = [
            ("%importance nope", "no model 'nope'"),
            ("%importance x --on nowhere", "no feature frame 'nowhere'"),
            ("%importance x --on narrow", "the frame has no column 'x2', "
                                          "which imp_x@1 reads"),
            ("%importance x --on d --metric rmse", "metric rmse does not fit "
                                                   "imp_x@1, a classifier "
                                                   "(binary:logistic): use "
                                                   "auc"),
            ("%importance reg --on r_frame --metric auc", "a regression "
                                                          "(reg:squarederror)"
                                                          ": use rmse"),
            ("%importance x --on d --metric aucc", "unknown metric 'aucc'"),
            ("%importance x --method coef", "coef is the importance of "
                                            "linear models and imp_x@1 is "
                                            "xgboost"),
            ("%importance l --method cover", "cover is an XGBoost "
                                             "importance"),
        ]
        for code, needle in cases:
            reply, _, _ = run(self.kc, code, allow_error=True)
            self.assertEqual(reply["status"], "error", code)
            self.assertEqual(reply["ename"], "ImportanceError", code)
            self.assertIn(needle, reply["evalue"], code)
        self.assertEqual(self.recorded("imp_x"), before)

    def test_interrupt_records_nothing(self):
        run(self.kc, 'local a, b, y = {}, {}, {}\n'
                     'for i = 1, 200000 do\n'
                     '  a[i] = (i * 7919) % 1000 / 1000\n'
                     '  b[i] = (i * 104729) % 997 / 997\n'
                     '  y[i] = (a[i] + b[i] > 1) and 1 or 0\n'
                     'end\n'
                     'big = features.frame{a = a, b = b, label = y}\n'
                     'bm = models.train{name = "imp_big", data = big, '
                     'target = "label", progress = false, '
                     'params = {num_boost_round = 20, nthread = 1}}')
        before = self.recorded("imp_big")
        msg_id = self.kc.execute("%importance bm --on big --repeats 1000")
        while True:
            m = self.kc.get_iopub_msg(timeout=60)
            if (m["parent_header"].get("msg_id") == msg_id
                    and m["msg_type"] == "execute_input"):
                break
        time.sleep(1.0)
        self.km.interrupt_kernel()
        reply = self.kc.get_shell_msg(timeout=60)["content"]
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        while True:
            m = self.kc.get_iopub_msg(timeout=60)
            if (m["parent_header"].get("msg_id") == msg_id
                    and m["msg_type"] == "status"
                    and m["content"]["execution_state"] == "idle"):
                break
        self.assertEqual(self.recorded("imp_big"), before)
        _, out, _ = run(self.kc, "print(#big)")
        self.assertEqual(out, "200000\n")

    def test_read_only_registry_says_it_did_not_record(self):
        copy = os.path.join(self.dir, "ro.sqlite")
        src = sqlite3.connect(self.registry)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.execute("PRAGMA journal_mode=DELETE")
        dst.close()
        env = dict(os.environ, TRELLIS_REGISTRY="file:%s?mode=ro" % copy)
        km, kc = start_new_kernel(kernel_name="trellis", env=env)
        try:
            _, _, r = run(kc, "%importance imp_x@1")
            self.assertRegex(r["text/plain"], r"not recorded: .*readonly")
            self.assertNotIn("recorded", r[MIME])
            self.assertEqual(r[MIME]["method"], "gain")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    unittest.main()
