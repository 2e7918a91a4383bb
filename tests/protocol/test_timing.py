"""%timeit, %%timeit, %time and %%time through a real client: IPython's
output form, its options, setup semantics, -o's value, errors and
interrupt. No timing is asserted: only the shape of what is printed and
the counts that IPython's semantics fix."""
import re
import time
import unittest

from jupyter_client.manager import start_new_kernel

from test_features import interrupt_until_reply, run, wait_idle

UNIT = r"(?:ns|\u00b5s|ms|s)"
NUM = r"\d+(?:\.\d+)?(?:e[+-]\d+)?"
SUMMARY = (r"^%s %s \u00b1 %s %s per loop \(mean \u00b1 std\. dev\. of "
           r"(\d+) runs?, ([\d,]+) loops? each\)\n$" % (NUM, UNIT, NUM, UNIT))


class TimingTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis")

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=True)

    def summary(self, code):
        _, out, _ = run(self.kc, code)
        # a first run that warms caches may earn IPython's warning line
        out = re.sub(r"^The slowest run took \d+\.\d\d times longer than "
                     r"the fastest\. This could mean that an intermediate "
                     r"result is being cached\.\n", "", out)
        m = re.match(SUMMARY, out)
        self.assertIsNotNone(m, out)
        return int(m.group(1)), int(m.group(2).replace(",", ""))

    def test_auto_range_picks_a_power_of_ten_and_seven_runs(self):
        runs, loops = self.summary("%timeit ;")
        self.assertEqual(runs, 7)
        self.assertRegex(str(loops), r"^10*$")

    def test_loops_and_runs_options_and_singular_forms(self):
        self.assertEqual(self.summary("%timeit -n 10 -r 2 local t = {}"),
                         (2, 10))
        _, out, _ = run(self.kc, "%timeit -n1 -r1 local t = {}")
        self.assertIn("of 1 run, 1 loop each)", out)
        self.assertEqual(self.summary("%timeit -n 100000 -r 1 ;"),
                         (1, 100000))

    def test_expressions_are_timed_and_statements_keep_their_effects(self):
        run(self.kc, "timed_count = 0")
        self.assertEqual(
            self.summary("%timeit -n 5 -r 3 timed_count = timed_count + 1"),
            (3, 5))
        _, out, _ = run(self.kc, "print(timed_count)")
        self.assertEqual(out, "15\n")
        self.summary("%timeit -n 3 -r 1 timed_count * 2")  # an expression

    def test_cell_mode_runs_setup_before_every_run_untimed(self):
        # Python's timeit runs setup once per run: the counter restarts
        _, out, _ = run(self.kc, "%%timeit -n 4 -r 3 cell_runs = (cell_runs "
                                 "or 0) + 1; local hits = 0\n"
                                 "hits = hits + 1\n"
                                 "last_hits = hits")
        self.assertRegex(out, SUMMARY)
        _, out, _ = run(self.kc, "print(cell_runs, last_hits)")
        self.assertEqual(out, "3\t4\n")

    def test_a_cell_magic_line_alone_times_nothing(self):
        # its options are not code: an empty statement is timed
        _, out, _ = run(self.kc, "%%timeit -n 1 -r 1")
        self.assertIn("of 1 run, 1 loop each)", out)

    def test_dash_o_returns_the_result_as_underscore(self):
        _, out, result = run(self.kc, "%timeit -q -o -n 7 -r 2 ;")
        self.assertEqual(out, "")
        self.assertRegex(result["text/plain"],
                         r"^<TimeitResult : .* per loop .*2 runs, 7 loops "
                         r"each\)>$")
        _, out, _ = run(self.kc, 'r = _\nprint(r.loops, r["repeat"], '
                                 '#r.all_runs, #r.timings, '
                                 'r.best <= r.average, r.average <= r.worst, '
                                 'r.stdev >= 0)')
        self.assertEqual(out, "7\t2\t2\t2\ttrue\ttrue\ttrue\n")

    def test_time_prints_cpu_and_wall_time_before_the_value(self):
        msg_id = self.kc.execute("%time 40 + 2")
        order = []
        while True:
            m = self.kc.get_iopub_msg(timeout=30)
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            t = m["msg_type"]
            if t == "status" and m["content"]["execution_state"] == "idle":
                break
            if t == "stream":
                order.append(("stream", m["content"]["text"]))
            elif t == "execute_result":
                order.append(("result", m["content"]["data"]["text/plain"]))
        self.assertEqual([k for k, _ in order], ["stream", "result"], order)
        self.assertRegex(order[0][1],
                         r"^CPU times: user %s %s, sys: %s %s, total: %s %s\n"
                         r"Wall time: %s %s\n$"
                         % (NUM, UNIT, NUM, UNIT, NUM, UNIT, NUM, UNIT))
        self.assertEqual(order[1][1], "42")
        _, out, result = run(self.kc, "%%time\nlocal s = 0\n"
                                      "for i = 1, 1000 do s = s + i end\ns")
        self.assertIn("Wall time: ", out)
        self.assertEqual(result["text/plain"], "500500")

    def test_bad_input_gets_a_clear_error(self):
        cases = [
            ("%timeit -n abc ;", "UsageError", "-n"),
            ("%timeit -x ;", "UsageError", "not recognized"),
            ("%timeit -r 0 ;", "UsageError", "-r"),
            ('%timeit error("boom")', "LuaError", "boom"),
            ("%timeit x +", "SyntaxError", "line 1"),
            ("%%timeit\nlocal a = = 1\n", "SyntaxError", "line 2"),
            ("%%time extra\n1", "UsageError", "%%time"),
            ("%%nosuch\n1", "UsageError", "not found"),
            ("%time error('late')", "LuaError", "late"),
        ]
        for code, ename, needle in cases:
            reply, out, _ = run(self.kc, code, allow_error=True)
            self.assertEqual(reply["status"], "error", code)
            self.assertEqual(reply["ename"], ename, code)
            self.assertIn(needle, reply["evalue"], code)
            self.assertNotIn("Wall time", out, code)
        _, out, _ = run(self.kc, "print(1 + 1)")
        self.assertEqual(out, "2\n")

    def test_interrupt_stops_a_timed_loop(self):
        msg_id = self.kc.execute("%timeit -n 1 -r 1 while true do end")
        reply = interrupt_until_reply(self.km, self.kc)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")
        wait_idle(self.kc, reply["parent_header"]["msg_id"])
        # also while a magic's C code runs between runs
        msg_id = self.kc.execute("%timeit -r 1000000 -n 100000 ;")
        reply = interrupt_until_reply(self.km, self.kc)
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")
        wait_idle(self.kc, reply["parent_header"]["msg_id"])
        _, out, _ = run(self.kc, "print('alive')")
        self.assertEqual(out, "alive\n")

    def test_cell_bench_reports_percentiles_of_every_run(self):
        _, _, r = run(self.kc, "%%bench --duration 0.05 --runs 7\n"
                               "local s = 0\nfor i = 1, 1000 do s = s + i end")
        text = r["text/plain"]
        self.assertRegex(text, r"^\d+ runs of the cell")
        for head in ("p50", "p90", "p99", "p99.9", "min", "max", "mean"):
            self.assertRegex(text, r"\n  %s +%s %s\n" % (re.escape(head),
                                                           NUM, UNIT))
        self.assertIn("<table>", r["text/html"])
        data = r["application/vnd.trellis.bench+json"]
        self.assertGreaterEqual(data["calls"], 7)
        self.assertLessEqual(data["p50_ms"], data["p99_ms"])
        _, out, _ = run(self.kc, "print(_.calls >= 7, "
                                 "_.min_ms <= _.p50_ms, "
                                 "_.p50_ms <= _.max_ms)")
        self.assertEqual(out, "true\ttrue\ttrue\n")
        _, _, r = run(self.kc, "%%bench --runs 2 --duration 0.01\n%%sql\n"
                               "SELECT 1")
        self.assertGreaterEqual(
            r["application/vnd.trellis.bench+json"]["calls"], 2)
        for code, needle in (("%%bench --bogus 1\n;", "unknown option"),
                             ("%%bench --runs\n;", "--runs lacks its value"),
                             ("%%bench --duration 0\n;", "--duration"),
                             ("%%bench\nerror('in bench')", "in bench"),
                             ("%bench", "usage")):
            reply, _, _ = run(self.kc, code, allow_error=True)
            self.assertEqual(reply["status"], "error", code)
            self.assertIn(needle, reply["evalue"], code)
        msg_id = self.kc.execute("%%bench --duration 600\n"
                                 "while true do end")
        reply = interrupt_until_reply(self.km, self.kc)
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")
        wait_idle(self.kc, msg_id)

    def test_completion_offers_cell_magics_on_the_first_line(self):
        self.kc.complete("%%ti", 4)
        reply = self.kc.get_shell_msg(timeout=30)
        self.assertEqual(sorted(reply["content"]["matches"]),
                         ["%%time", "%%timeit"])
        self.kc.complete("%tim", 4)
        reply = self.kc.get_shell_msg(timeout=30)
        self.assertEqual(sorted(reply["content"]["matches"]),
                         ["%time", "%timeit"])


if __name__ == "__main__":
    unittest.main()
