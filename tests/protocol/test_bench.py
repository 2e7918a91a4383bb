"""%bench and bench{} through a real client: the table, the percentile
curves and the result as data; --vs and --threads; every run recorded
against the model version (and said not to be when the registry is
read-only); usage errors that name the option; an interrupt that records
nothing. No test asserts a timing: only the shape and the consistency of
the numbers."""
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
MIME = "application/vnd.trellis.bench+json"


def ordered(row):
    return (0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
            <= row["p99_9_ms"] <= row["max_ms"])


class BenchTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="trellis-bench-")
        cls.registry = os.path.join(cls.dir, "reg.sqlite")
        env = dict(os.environ, TRELLIS_REGISTRY=cls.registry)
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis", env=env)
        run(cls.kc, 'd = features.read_csv("%s")\n'
                    'features.register("bench_rows", d)\n'
                    'a = models.train{name = "bench_a", data = d, '
                    'target = "label", progress = false, '
                    'params = {max_depth = 3, num_boost_round = 10, '
                    'nthread = 1}}\n'
                    'b = models.train{name = "bench_b", algo = "logistic", '
                    'data = d, target = "label", progress = false}'
            % os.path.join(FIXTURES, "binary.csv"))

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def recorded(self, ref):
        _, out, _ = run(self.kc, 'print(#models.benchmarks("%s"))' % ref)
        return int(out)

    def test_table_curves_and_the_result_as_data(self):
        _, _, r = run(self.kc, "%bench a --on d --duration 0.2 "
                               "--batch 1,16")
        text = r["text/plain"]
        self.assertRegex(text, r"^bench_a@1 on an unregistered frame \(400 "
                               r"rows\): 0\.2 s per configuration after a "
                               r"0\.02 s warm-up; recorded as benchmark \d+")
        self.assertIn("percentiles of every call", text)
        for col in ("threads", "batch", "calls", "p50 ms", "p90 ms",
                    "p99 ms", "p99.9 ms", "p50 us/row", "rows/s"):
            self.assertIn(col, text)
        self.assertRegex(text, r"\nbench_a@1 +1 +1 +\d+ ")
        self.assertRegex(text, r"\nbench_a@1 +1 +16 +\d+ ")
        html = r["text/html"]
        self.assertEqual(html.count("<table>"), 1)
        self.assertIn("<svg", html)
        self.assertIn("batch 16", html)
        # a curve per batch size (one model, one thread count)
        self.assertEqual(html.count("<polyline"), 2)
        data = r[MIME]
        self.assertEqual(data["models"], ["bench_a@1"])
        self.assertIsNone(data["on"])
        self.assertEqual(data["batches"], [1, 16])
        self.assertEqual(data["threads"], [1])
        self.assertEqual(len(data["results"]), 2)
        for row, batch in zip(data["results"], (1, 16)):
            self.assertEqual(row["batch"], batch)
            self.assertGreaterEqual(row["calls"], 1)
            self.assertEqual(row["rows"], row["calls"] * batch)
            self.assertTrue(ordered(row), row)
            self.assertAlmostEqual(row["row_p99_us"],
                                   row["p99_ms"] * 1000 / batch)
            self.assertEqual([q for q, _ in row["curve"]],
                             [0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999])
            self.assertGreater(row["peak_rss_mb"], 0)
        self.assertEqual(data["ratios"], [])
        for k in ("timer_ns", "empty_call_ns", "loop_ns"):
            self.assertGreater(data["overhead"][k], 0)
        self.assertIn("recorded as benchmark %d" % data["recorded"], text)

    def test_vs_and_threads_side_by_side(self):
        _, _, r = run(self.kc, "%bench a --on bench_rows@1 --duration 0.2 "
                               "--batch 1 --threads 1,2 --vs bench_b@1")
        data = r[MIME]
        self.assertEqual(data["models"], ["bench_a@1", "bench_b@1"])
        self.assertEqual(data["on"], "bench_rows@1")
        self.assertEqual([(x["threads"], x["model"]) for x in
                          data["results"]], [(1, 0), (1, 1), (2, 0), (2, 1)])
        for row in data["results"]:
            self.assertTrue(ordered(row), row)
        self.assertGreaterEqual(data["results"][2]["calls"], 2)
        self.assertEqual(len(data["ratios"]), 2)
        first, other = data["results"][0], data["results"][1]
        self.assertAlmostEqual(data["ratios"][0]["p50"],
                               other["p50_ms"] / first["p50_ms"])
        self.assertAlmostEqual(data["ratios"][0]["rows_per_s"],
                               other["rows_per_s"] / first["rows_per_s"])
        text = r["text/plain"]
        self.assertIn("bench_a@1 vs bench_b@1 on bench_rows@1 (400 rows)",
                      text)
        self.assertEqual(text.count("bench_b@1 / bench_a@1"), 2)
        html = r["text/html"]
        self.assertEqual(html.count("<polyline"), 4)
        self.assertIn("2 threads", html)

    def test_every_run_is_recorded_against_the_version(self):
        before = self.recorded("bench_a@1")
        _, _, r = run(self.kc, "%bench bench_a@1 --on d --duration 0.1 "
                               "--batch 1,2,3")
        self.assertEqual(self.recorded("bench_a@1"), before + 3)
        _, out, _ = run(self.kc, 'local l = models.benchmarks("bench_a")\n'
                        'local e = l[#l]\n'
                        'print(e.id, e.model, e.batch, e.threads, e.p99_ms)')
        id_, model, batch, threads, p99 = out.split()
        self.assertEqual(int(id_), r[MIME]["recorded"])
        self.assertEqual((model, batch, threads), ("bench_a@1", "3", "1"))
        self.assertAlmostEqual(float(p99), r[MIME]["results"][2]["p99_ms"],
                               places=9)
        _, _, shown = run(self.kc, 'models.benchmarks("bench_a@1")')
        self.assertIn("<table", shown["text/html"])
        self.assertIn("p99_ms", shown["text/html"])

    def test_bench_value_from_lua(self):
        before = self.recorded("bench_b@1")
        _, out, _ = run(self.kc, 'r = bench{model = a, on = d, batch = '
                        '{1, 4}, duration = 0.1, vs = "bench_b"}\n'
                        'local c = r:at(4, 1, 2)\n'
                        'print(#r.results, c.batch, c.ref, r.ratios[2].batch,'
                        ' r.recorded ~= nil, c.rows == c.calls * 4, '
                        'c.p50_ms <= c.p99_ms)')
        self.assertEqual(out, "4\t4\tbench_b@1\t4\ttrue\ttrue\ttrue\n")
        self.assertEqual(self.recorded("bench_b@1"), before + 2)
        _, _, shown = run(self.kc, "r")
        self.assertIn("<svg", shown["text/html"])
        self.assertIn("bench_b@1 / bench_a@1", shown["text/plain"])
        reply, _, _ = run(self.kc, "r:at(64)", allow_error=True)
        self.assertIn("no configuration of batch 64", reply["evalue"])
        reply, _, _ = run(self.kc, "bench{model = a, on = d, batch = 0}",
                          allow_error=True)
        self.assertIn("a batch size is a whole number of rows from 1",
                      reply["evalue"])
        reply, _, _ = run(self.kc, "bench{model = a, on = d, batch = {1, "
                          "1.5}}", allow_error=True)
        self.assertIn("batch is a list of whole numbers", reply["evalue"])
        _, out, _ = run(self.kc, "print(bench{model = a, on = d, batch = "
                        "8.0, duration = 0.02}.batches[1])")
        self.assertEqual(out, "8\n")

    def test_usage_errors_name_the_option(self):
        cases = [
            ("%bench", "name the model to benchmark"),
            ("%bench a", "--on names the frame"),
            ("%bench a b --on d", "name one model (--vs sets a second"),
            ("%bench a --on d --batch 0", "--batch takes whole numbers from "
                                          "1 to 1000000 separated by commas, "
                                          "not '0'"),
            ("%bench a --on d --batch 1,,2", "not '1,,2'"),
            ("%bench a --on d --batch 32,x", "not '32,x'"),
            ("%bench a --on d --batch 1000001", "not '1000001'"),
            ("%bench a --on d --duration 0", "--duration takes seconds per "
                                             "configuration above 0 and at "
                                             "most 600, not '0'"),
            ("%bench a --on d --duration 601", "not '601'"),
            ("%bench a --on d --duration soon", "not 'soon'"),
            ("%bench a --on d --threads 0", "--threads takes whole numbers "
                                            "from 1 to"),
            ("%bench a --on d --threads 1,9999", "not '1,9999'"),
            ("%bench a --on d --frobnicate 3", "unknown option --frobnicate"),
            ("%bench a --on d -t 2", "unknown option -t"),
            ("%bench a --on d --vs", "--vs lacks its value"),
        ]
        for code, needle in cases:
            reply, _, _ = run(self.kc, code, allow_error=True)
            self.assertEqual(reply["status"], "error", code)
            self.assertEqual(reply["ename"], "UsageError", code)
            self.assertIn(needle, reply["evalue"], code)
            self.assertIn("usage: %bench MODEL[@V] --on FRAME",
                          reply["evalue"], code)
        # --opt=value works as well as --opt value
        _, _, r = run(self.kc, "%bench a --on=d --duration=0.05 --batch=2")
        self.assertEqual(r[MIME]["batches"], [2])

    def test_errors_name_the_problem(self):
        run(self.kc, 'narrow = d:select{"x1", "label"}')
        cases = [
            ("%bench nope --on d", "no model 'nope'"),
            ("%bench a --on nowhere", "no feature frame 'nowhere'"),
            ("%bench a --on d --vs bench_b@9", "has only version 1, not 9"),
            ("%bench a --on narrow", "bench_a@1: the frame has no column "
                                     "'x2', which the model reads"),
        ]
        before = self.recorded("bench_a@1")
        for code, needle in cases:
            reply, _, _ = run(self.kc, code, allow_error=True)
            self.assertEqual(reply["status"], "error", code)
            self.assertEqual(reply["ename"], "BenchError", code)
            self.assertIn(needle, reply["evalue"], code)
        self.assertEqual(self.recorded("bench_a@1"), before)

    def test_interrupt_records_nothing(self):
        before = self.recorded("bench_a@1")
        msg_id = self.kc.execute("%bench a --on d --duration 60 --batch 1")
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
        self.assertEqual(self.recorded("bench_a@1"), before)
        _, out, _ = run(self.kc, "print(#d)")
        self.assertEqual(out, "400\n")

    def test_read_only_registry_says_it_did_not_record(self):
        # a consistent copy (the kernel's WAL included), in rollback mode
        # so a read-only connection needs no -shm file
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
            _, _, r = run(kc, "%bench bench_a@1 --on bench_rows --duration "
                              "0.05 --batch 1")
            self.assertRegex(r["text/plain"], r"not recorded: .*readonly")
            self.assertNotIn("recorded", r[MIME])
            self.assertTrue(ordered(r[MIME]["results"][0]))
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    unittest.main()
