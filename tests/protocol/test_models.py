"""The model registry through a real client: a progress bar that updates in
place, models that predict bit-identically after a kernel restart, XGBoost
JSON that Python's xgboost loads, stages, %models, and bad requests and
interrupts that register nothing and leave the kernel working."""
import json
import os
import shutil
import tempfile
import unittest

import numpy as np
import xgboost as xgb
from jupyter_client.manager import start_new_kernel

from test_features import run

TIMEOUT = 120
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "unit", "registry", "fixtures", "models")
BINARY = os.path.join(FIXTURES, "binary.csv")


def collect(kc, code):
    """Runs code; returns (reply content, every IOPub message of it)."""
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    msgs = []
    while True:
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if (m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"):
            return reply["content"], msgs
        msgs.append(m)


def model_names(kc):
    _, out, _ = run(kc, "for _, e in ipairs(models.list()) do "
                        "print(e.name .. '@' .. e.version) end")
    return out.split()


class ModelRegistryTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="trellis-models-")
        # a registry of its own, kept across this test's restarts
        env = dict(os.environ,
                   TRELLIS_REGISTRY=os.path.join(self.dir, "reg.sqlite"))
        self.km, self.kc = start_new_kernel(kernel_name="trellis", env=env)
        run(self.kc, 'd = features.read_csv("%s")' % BINARY)

    def tearDown(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_progress_bar_updates_one_display(self):
        # slow enough (deep trees, one thread) for the bar to appear early
        # and update: it shows after half a second
        reply, msgs = collect(self.kc, 'm = models.train{name = "bar", '
                              'data = d, target = "label", params = '
                              '{num_boost_round = 400, max_depth = 10, '
                              'eta = 0.01, nthread = 1}}')
        self.assertEqual(reply["status"], "ok")
        shown = [m for m in msgs if m["msg_type"] == "display_data"]
        updates = [m for m in msgs if m["msg_type"] == "update_display_data"]
        self.assertEqual(len(shown), 1)
        display_id = shown[0]["content"]["transient"]["display_id"]
        for u in updates:
            self.assertEqual(u["content"]["transient"]["display_id"],
                             display_id)
        last = (updates or shown)[-1]["content"]["data"]
        self.assertIn("400/400", last["text/plain"])
        self.assertIn("train-logloss", last["text/plain"])
        self.assertIn("registered bar@1", last["text/plain"])
        self.assertIn('<progress value="400" max="400"', last["text/html"])

    def test_quick_training_shows_one_final_line(self):
        reply, msgs = collect(self.kc, 'models.train{name = "quick", '
                              'data = d, target = "label", params = '
                              '{num_boost_round = 3, nthread = 1}}')
        kinds = [m["msg_type"] for m in msgs]
        self.assertEqual(kinds.count("display_data"), 1)
        self.assertNotIn("update_display_data", kinds)
        final = [m for m in msgs if m["msg_type"] == "display_data"][0]
        self.assertIn("3/3", final["content"]["data"]["text/plain"])
        self.assertIn("registered quick@1",
                      final["content"]["data"]["text/plain"])

    def test_predictions_survive_a_restart_bit_for_bit(self):
        kc = self.kc
        run(kc, 'features.register("churn", d)')
        run(kc, 'x = models.train{name = "churn_xgb", data = "churn@1", '
                'target = "label", params = {max_depth = 3, '
                'num_boost_round = 15}}\n'
                'l = models.train{name = "churn_lr", algo = "logistic", '
                'data = d, target = "label", features = {"x1", "x2", "plan"}}')
        show = ('for _, name in ipairs({"churn_xgb", "churn_lr"}) do '
                'local p = models.get(name):predict(d) '
                'for i = 1, #p do io.write(string.format("%.17g\\n", p[i])) '
                'end end')
        _, before, _ = run(kc, show)
        self.km.restart_kernel(now=False)
        self.kc.wait_for_ready(timeout=TIMEOUT)
        run(kc, 'd = features.read_csv("%s")' % BINARY)
        _, after, _ = run(kc, show)
        self.assertEqual(len(before.split()), 800)
        self.assertEqual(before, after)
        _, out, _ = run(kc, 'm = models.get("churn_xgb@1")\n'
                            'print(m.data.frame, m.target, #m.features, '
                            'm.algo, m.objective, m.params.max_depth)')
        self.assertEqual(out, "churn@1\tlabel\t5\txgboost\tbinary:logistic"
                              "\t3\n")

    def test_saved_json_loads_in_python_xgboost(self):
        path = os.path.join(self.dir, "model.json")
        _, out, _ = run(self.kc, 'm = models.train{name = "exported", '
                        'data = d, target = "label", params = '
                        '{num_boost_round = 12, max_depth = 4}}\n'
                        'm:save("%s")\n'
                        'local p = m:predict(d)\n'
                        'for i = 1, #p do io.write(string.format("%%.17g\\n",'
                        ' p[i])) end' % path)
        ours = np.array([float(v) for v in out.split()])
        _, names, _ = run(self.kc, "print(table.concat(m.inputs, '\\n'))")
        booster = xgb.Booster(model_file=path)
        self.assertEqual(booster.feature_names, names.split("\n")[:-1])
        X = self.encoded_binary()
        theirs = booster.predict(xgb.DMatrix(X, missing=np.nan,
                                             feature_names=booster.feature_names))
        self.assertEqual(ours.shape, theirs.shape)
        self.assertLess(np.max(np.abs(ours - theirs)), 1e-6)

    @staticmethod
    def encoded_binary():
        """binary.csv as Trellis encodes it: x1, x2, x3, plan one-hot
        (sorted categories; missing -> NaN), city as its sorted code."""
        with open(BINARY) as f:
            lines = f.read().splitlines()
        cols = lines[0].split(",")
        rows = [line.split(",") for line in lines[1:]]
        at = {c: i for i, c in enumerate(cols)}
        plans = sorted({r[at["plan"]] for r in rows if r[at["plan"]]})
        cities = sorted({r[at["city"]] for r in rows})
        X = []
        for r in rows:
            num = lambda s: float("nan") if s == "" else (
                1.0 if s == "true" else 0.0 if s == "false" else float(s))
            plan = r[at["plan"]]
            onehot = ([float("nan")] * len(plans) if not plan else
                      [1.0 if plan == p else 0.0 for p in plans])
            X.append([num(r[at["x1"]]), num(r[at["x2"]]), num(r[at["x3"]])]
                     + onehot + [float(cities.index(r[at["city"]]))])
        return np.array(X)

    def test_stages_keep_one_production_version(self):
        kc = self.kc
        for _ in range(2):
            run(kc, 'models.train{name = "st", data = d, target = "label", '
                    'features = {"x1"}, params = {num_boost_round = 2}}')
        run(kc, 'models.stage("st@1", "production")')
        run(kc, 'models.stage("st@2", "production")')
        _, out, _ = run(kc, 'print(models.get("st@1").stage, '
                            'models.get("st@2").stage, '
                            'models.get("st@production").ref)')
        self.assertEqual(out, "archived\tproduction\tst@2\n")
        reply, _, _ = run(kc, 'models.stage("st@2", "live")',
                          allow_error=True)
        self.assertIn("unknown stage 'live'", reply["evalue"])
        _, _, r = run(kc, "%models st")
        self.assertIn("<table>", r["text/html"])
        self.assertIn("st@2", r["text/html"])
        self.assertIn("production", r["text/plain"])
        reply, _, _ = run(kc, "%models st other", allow_error=True)
        self.assertEqual(reply["ename"], "UsageError")
        self.assertIn("name one model, or none for all, not 'other' too; "
                      "usage: %models [NAME] [--history NAME]",
                      reply["evalue"])

    def test_bad_requests_register_nothing(self):
        kc = self.kc
        train = 'models.train{name = "bad", %s}'
        bad = [
            ('data = d, target = "label", features = {"x1", "nope"}',
             "no column 'nope' in data"),
            ('data = d, target = "plan"', "target 'plan' is a str column"),
            ('data = d, target = "label", params = {max_dpeth = 3}',
             '"max_dpeth"'),
            ('data = d, target = "label", algo = "logistic", '
             'params = {gamma = 1}', "'gamma' is not one"),
            ('data = d:head(0), target = "label"', "no rows"),
            ('data = "no_such_frame@1", target = "label"',
             "no feature frame 'no_such_frame'"),
            ('target = "label"', "give data = a frame"),
            ('data = d, target = "label", algo = "svm"', "unknown algo"),
            ('data = 5, target = "label"', "data must be a frame"),
            ('data = d, target = "label", params = {eta = 0/0}',
             "numbers must be finite"),
            ('data = d, target = "label", algo = "logistic", group = "x2"',
             "group= is for ranking with xgboost"),
            ('data = d, target = "label", params = {booster = "gblinear"}',
             "booster gblinear"),
            ('data = features.frame{c = {"\\xff", "a"}, y = {0, 1}}, '
             'target = "y"', "not UTF-8 text"),
            ('data = features.frame{x = {1e308, -1e308}, y = {0, 1}}, '
             'target = "y", algo = "linear"', "too large to standardise"),
        ]
        for args, needle in bad:
            reply, _, _ = run(kc, train % args, allow_error=True)
            self.assertEqual(reply["status"], "error", args)
            self.assertIn(needle, reply["evalue"], args)
        d2 = 'd2 = d:copy(); d2.label = d.x1 * 0 + 1\n'
        reply, _, _ = run(kc, d2 + 'models.train{name = "bad", data = d2, '
                          'target = "label"}', allow_error=True)
        self.assertIn("target 'label' in data is missing", reply["evalue"])
        self.assertEqual(model_names(kc), [])
        _, out, _ = run(kc, "print(1 + 1)")
        self.assertEqual(out, "2\n")

    def test_interrupt_stops_training_and_registers_nothing(self):
        kc = self.kc
        # enough rounds to take many seconds: the interrupt lands mid-way
        msg_id = kc.execute('models.train{name = "slow", data = d, '
                            'target = "label", params = {num_boost_round = '
                            '1000000, max_depth = 8, nthread = 1}}')
        while True:
            m = kc.get_iopub_msg(timeout=TIMEOUT)
            if (m["parent_header"].get("msg_id") == msg_id
                    and m["msg_type"] == "update_display_data"):
                break
        self.km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=TIMEOUT)["content"]
        # requests sent before the failed cell's idle are aborted (as
        # ipykernel's stop_on_error does): wait for it
        while True:
            m = kc.get_iopub_msg(timeout=TIMEOUT)
            if (m["parent_header"].get("msg_id") == msg_id
                    and m["msg_type"] == "status"
                    and m["content"]["execution_state"] == "idle"):
                break
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertEqual(model_names(kc), [])
        _, out, _ = run(kc, "print(#d)")
        self.assertEqual(out, "400\n")


if __name__ == "__main__":
    unittest.main()
