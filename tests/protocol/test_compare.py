"""%compare and %metrics through a real client: models named as variables
or registry specs, frames the same way, a table with intervals that the
same seed reproduces, segments, and errors that name what is wrong."""
import os
import re
import shutil
import tempfile
import time
import unittest

from jupyter_client.manager import start_new_kernel

from test_features import run

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "unit", "registry", "fixtures", "models")


class CompareTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="trellis-compare-")
        env = dict(os.environ,
                   TRELLIS_REGISTRY=os.path.join(cls.dir, "reg.sqlite"))
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis", env=env)
        run(cls.kc, 'd = features.read_csv("%s")\n'
                    'valid = features.read_csv("%s")\n'
                    'a = models.train{name = "cmp_a", data = d, '
                    'target = "label", progress = false, '
                    'params = {max_depth = 3, num_boost_round = 20}}\n'
                    'b = models.train{name = "cmp_b", algo = "logistic", '
                    'data = d, target = "label", progress = false, '
                    'features = {"x1", "x2", "x3", "plan"}}'
            % (os.path.join(FIXTURES, "binary.csv"),
               os.path.join(FIXTURES, "binary_eval.csv")))

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_table_with_intervals_reproduces_with_a_seed(self):
        cmd = "%compare a cmp_b@1 --on valid --bootstrap 300 --seed 7"
        _, _, first = run(self.kc, cmd)
        _, _, again = run(self.kc, cmd)
        # the same numbers; each run is recorded under its own number
        numbered = re.compile(r"recorded as comparison \d+")
        self.assertRegex(first["text/plain"], numbered)
        for mime in ("text/plain", "text/html"):
            self.assertEqual(numbered.sub("", first[mime]),
                             numbered.sub("", again[mime]))
        text = first["text/plain"]
        self.assertIn("150 rows", text)
        self.assertIn("300 paired bootstrap resamples (seed 7)", text)
        for metric in ("auc", "logloss", "pr_auc", "brier"):
            self.assertRegex(text, r"%s .*\d\.\d{4} \[\d\.\d{4}, \d\.\d{4}\]"
                             % metric)
        self.assertRegex(text, r"p=\d")
        html = first["text/html"]
        self.assertIn("<table>", html)
        # ROC, precision-recall and calibration curves and the deltas
        self.assertIn("<svg", html)
        for title in ("ROC", "precision-recall", "calibration",
                      "difference from the baseline"):
            self.assertIn(title, html)
        self.assertEqual(html.count("<polyline"), 6)
        self.assertIn("cmp_a@1 (baseline)", html)
        self.assertIn("<b>", html)
        _, _, other = run(self.kc, cmd.replace("--seed 7", "--seed 8"))
        self.assertNotEqual(other["text/plain"], text)

    def test_metrics_of_one_model_and_chosen_metrics(self):
        _, _, r = run(self.kc, "%metrics a --on valid --metrics "
                               "auc,f1,rmse --bootstrap 0")
        text = r["text/plain"]
        self.assertRegex(text, r"auc \S+ +\*?0\.\d{4}\s")
        self.assertIn("f1", text)
        self.assertIn("rmse", text)
        self.assertNotIn("[", text.split("\n", 1)[1])

    def test_segments(self):
        _, _, r = run(self.kc, "%compare a b --on valid --metrics auc "
                               "--by plan --bootstrap 100")
        for plan in ("basic", "family", "pro", "team"):
            self.assertIn("segment %s" % plan, r["text/plain"])

    def test_groups_cluster_the_resampling(self):
        # rows of one city move together; cities of one row have no NDCG
        # and are left out instead of failing the comparison
        _, _, r = run(self.kc, "%compare a b --on valid --metrics "
                               "auc,ndcg@3 --group city --bootstrap 100")
        text = r["text/plain"]
        self.assertIn("100 paired bootstrap resamples of city groups", text)
        self.assertRegex(text, r"ndcg@3 .*\d\.\d{4} \[")
        _, out, _ = run(self.kc, 'local r = compare{models = {a, b}, '
                        'on = valid, metrics = {"auc"}, bootstrap = 100, '
                        'seed = 3}\n'
                        'local c = compare{models = {a, b}, on = valid, '
                        'metrics = {"auc"}, bootstrap = 100, seed = 3, '
                        'group = "plan"}\n'
                        'print(r.resampled_by, c.resampled_by, r.rows, '
                        'c.rows + c.dropped)')
        self.assertEqual(out, "nil\tplan\t150\t150\n")

    def test_compare_value_and_metrics_compute_from_lua(self):
        _, out, _ = run(self.kc, 'r = compare{models = {a, "cmp_b@1"}, '
                        'on = valid, bootstrap = 100, seed = 7}\n'
                        'local p = a:predict(valid)\n'
                        'print(r.rows, r.metrics[1].name, '
                        'r:value("auc", 1).value == '
                        'metrics.compute("auc", valid.label, p), '
                        'r:value("auc", 2).p ~= nil)')
        self.assertEqual(out, "150\tauc\ttrue\ttrue\n")
        _, _, shown = run(self.kc, "r")
        self.assertIn("<table>", shown["text/html"])
        self.assertIn("100 paired bootstrap resamples", shown["text/plain"])
        reply, _, _ = run(self.kc, 'metrics.compute("nope", valid.label, '
                          'valid.label)', allow_error=True)
        self.assertIn("unknown metric 'nope'", reply["evalue"])

    def test_business_metric_is_usable_everywhere_and_persists(self):
        env = dict(os.environ,
                   TRELLIS_REGISTRY=os.path.join(self.dir, "biz.sqlite"))
        km, kc = start_new_kernel(kernel_name="trellis", env=env)
        try:
            setup = ('d = features.read_csv("%s")\n'
                     'valid = features.read_csv("%s")\n'
                     'a = models.train{name = "biz_a", data = d, '
                     'target = "label", progress = false, '
                     'params = {num_boost_round = 5}}'
                     % (os.path.join(FIXTURES, "binary.csv"),
                        os.path.join(FIXTURES, "binary_eval.csv")))
            run(kc, setup)
            # contacted customers (p >= 0.5) who stayed, per customer
            run(kc, 'metrics.define("kept", [[function(y, p, w, x2)\n'
                    '  return (w * y * p:ge(0.5)):sum() / w:sum()\n'
                    'end]], {columns = {"x2"}})')
            _, before, _ = run(kc, 'r = compare{models = {a}, on = valid, '
                               'metrics = {"auc", "kept"}, bootstrap = 50}\n'
                               'print(r:value("kept", 1).value)')
            _, want, _ = run(kc, 'local p = a:predict(valid)\n'
                             'local n = 0\n'
                             'for i = 1, #p do if p[i] >= 0.5 and '
                             'valid.label[i] == 1 then n = n + 1 end end\n'
                             'print(n / #p)')
            self.assertEqual(before, want)
            km.restart_kernel(now=False)
            kc.wait_for_ready(timeout=60)
            run(kc, setup.replace('name = "biz_a"', 'name = "biz_b"'))
            _, _, r = run(kc, "%compare a --on valid --metrics kept "
                              "--bootstrap 20")
            self.assertIn("kept", r["text/plain"])
            reply, _, _ = run(kc, 'metrics.define("auc", "function() '
                              'return 1 end")', allow_error=True)
            self.assertIn("built-in metric", reply["evalue"])
            reply, _, _ = run(kc, 'metrics.define("broken", "retun 1")',
                              allow_error=True)
            self.assertIn("metric 'broken' does not compile",
                          reply["evalue"])
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)

    def test_interrupt_stops_a_long_bootstrap(self):
        # 50k rows x 100000 resamples: minutes, unless interrupted
        big = os.path.join(self.dir, "big.csv")
        with open(os.path.join(FIXTURES, "binary.csv")) as f:
            header, *rows = f.read().splitlines()
        with open(big, "w") as f:
            f.write("\n".join([header] + rows * 125) + "\n")
        run(self.kc, 'big = features.read_csv("%s")' % big)
        msg_id = self.kc.execute("%compare a b --on big --bootstrap 100000")
        while True:
            m = self.kc.get_iopub_msg(timeout=60)
            if (m["parent_header"].get("msg_id") == msg_id
                    and m["msg_type"] == "execute_input"):
                break
        time.sleep(0.5)
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
        _, out, _ = run(self.kc, "print(#valid)")
        self.assertEqual(out, "150\n")

    def test_thirty_two_metrics_and_a_metric_that_ignores_weights(self):
        names = ", ".join(['"auc"'] * 32)
        _, out, _ = run(self.kc, 'r = compare{models = {a}, on = valid, '
                        'metrics = {%s}, bootstrap = 10}\n'
                        'print(#r.metrics)' % names)
        self.assertEqual(out, "32\n")
        # resampled as rows: an interval even when w is ignored
        run(self.kc, 'metrics.define("hits", function(y, p, w) '
                     'return (y * p:ge(0.5)):sum() / #y end)')
        _, out, _ = run(self.kc, 'r = compare{models = {a, b}, on = valid, '
                        'metrics = {"hits"}, bootstrap = 200}\n'
                        'local c = r:value("hits", 2)\n'
                        'print(c.lo < c.value and c.value < c.hi, '
                        'c.delta_lo < c.delta_hi)')
        self.assertEqual(out, "true\ttrue\n")

    def test_errors_name_the_problem(self):
        cases = [
            ("%compare a nope --on valid", "no model 'nope'"),
            ("%compare a b", "--on names the frame"),
            ("%compare a b --on nowhere", "no feature frame 'nowhere'"),
            ("%compare a b --on valid --metrics auc,nope",
             "unknown metric 'nope'"),
            ("%compare a b --on valid --metrics ndcg@3",
             "ranking metric"),
            ("%compare a b --on valid --bootstrap x", "--bootstrap takes a "
             "whole number of resamples from 0 to 100000, not 'x'"),
            ("%compare a b --on valid --by nope", "no segment column"),
            ("%metrics a b --on valid", "name one model"),
        ]
        for code, needle in cases:
            reply, _, _ = run(self.kc, code, allow_error=True)
            self.assertEqual(reply["status"], "error", code)
            self.assertIn(needle, reply["evalue"], code)
        _, out, _ = run(self.kc, "print(#valid)")
        self.assertEqual(out, "150\n")


if __name__ == "__main__":
    unittest.main()
