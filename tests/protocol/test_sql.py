"""%%sql cells through a real client: Lua frames and registered frames as
tables, results back to Lua and into the registry, parameters from Lua,
errors with positions, interrupt, completion, is_complete and timing."""
import json
import os
import shutil
import tempfile
import time
import unittest

from jupyter_client.manager import start_new_kernel

from test_features import interrupt_until_reply, run, wait_idle

HERE = os.path.dirname(os.path.abspath(__file__))
CSV = os.path.join(HERE, "..", "unit", "registry", "fixtures", "models",
                   "binary.csv")


class SqlTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="trellis-sql-")
        env = dict(os.environ,
                   TRELLIS_REGISTRY=os.path.join(cls.dir, "reg.sqlite"))
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis", env=env)
        run(cls.kc, 'd = features.read_csv("%s")\n'
                    'features.register("churn", d)\n'
                    'small = features.frame{id = {1, 2, 3}, '
                    'name = {"a", "b", "c"}, score = {0.5, 0/0, 2.5}, '
                    'flag = {true, false, true}}' % CSV)

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=True)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_lua_frame_and_registered_frame_are_tables(self):
        _, _, r = run(self.kc, "%%sql\nSELECT count(*) AS n FROM d")
        self.assertIn("<table", r["text/html"])
        self.assertIn("1 row in", r["text/plain"])
        _, _, r2 = run(self.kc, "%%sql\nSELECT count(*) AS n FROM churn")
        self.assertEqual(r["text/plain"].split("\n")[2],
                         r2["text/plain"].split("\n")[2])
        _, _, r3 = run(self.kc, '%%sql\nSELECT count(*) AS n FROM "churn@1"')
        self.assertEqual(r2["text/plain"].split("\n")[2],
                         r3["text/plain"].split("\n")[2])

    def test_full_sql_joins_group_by_windows_ctes(self):
        _, _, r = run(self.kc, """%%sql
WITH per_plan AS (
  SELECT plan, count(*) AS n, avg(x1) AS mean_x1 FROM d GROUP BY plan
)
SELECT p.plan, p.n, rank() OVER (ORDER BY p.n DESC) AS r
FROM per_plan p JOIN churn c ON c.plan = p.plan
GROUP BY p.plan ORDER BY r""")
        text = r["text/plain"]
        for plan in ("basic", "family", "pro", "team"):
            self.assertIn(plan, text)

    def test_missing_values_and_types_cross_both_ways(self):
        run(self.kc, "%%sql --lua back\n"
                     "SELECT id, name, score, flag, id * 2 AS twice "
                     "FROM small ORDER BY id")
        _, out, _ = run(self.kc,
                        'local t = back:dtypes()\n'
                        'print(t.id, t.name, t.score, t.twice, #back)\n'
                        'print(back.score:n_missing(), '
                        'back.name[2])')
        lines = out.split("\n")
        self.assertEqual(lines[0], "i64\tstr\tf64\ti64\t3")
        self.assertEqual(lines[1].split("\t")[0], "1")
        self.assertEqual(lines[1].split("\t")[1], "b")

    def test_save_registers_a_version_with_sql_lineage(self):
        _, _, r = run(self.kc, "%%sql --save plans\n"
                               "SELECT plan, count(*) AS n FROM churn "
                               "GROUP BY plan")
        self.assertIn("saved as plans@1", r["text/plain"])
        _, out, _ = run(self.kc, 'local p = features.version("plans@1")\n'
                                 'print(#p)\nprint(p:lineage())')
        rows, lineage = out.split("\n", 1)
        self.assertEqual(rows, "5")  # four plans and the missing one
        lineage = json.loads(lineage)
        self.assertEqual(lineage["source"], "sql")
        self.assertEqual(lineage["reads"], ["churn@1"])
        self.assertIn("GROUP BY plan", lineage["sql"])

    def test_parameters_come_from_lua_globals(self):
        run(self.kc, "cutoff = 2\nwhich = 'b'")
        _, _, r = run(self.kc, "%%sql\nSELECT count(*) AS n FROM small "
                               "WHERE id >= :cutoff OR name = :which")
        self.assertRegex(r["text/plain"], r"\n\s*1\s+2\n")
        reply, _, _ = run(self.kc, "%%sql\nSELECT :nowhere", allow_error=True)
        self.assertIn("nowhere", reply["evalue"])

    def test_errors_name_the_position_and_change_nothing(self):
        reply, _, _ = run(self.kc, "%%sql\nSELECT 1;\nSELEC 2",
                          allow_error=True)
        self.assertEqual(reply["ename"], "SQLError")
        self.assertIn("line 3", reply["evalue"])
        reply, _, _ = run(self.kc, "%%sql --save broken\nSELECT nope FROM d",
                          allow_error=True)
        self.assertIn("no such column: nope", reply["evalue"])
        reply, _, _ = run(self.kc, "%%sql\nSELECT * FROM nowhere",
                          allow_error=True)
        self.assertIn("no such table: nowhere", reply["evalue"])
        reply, _, _ = run(self.kc, "%%sql\nDELETE FROM d", allow_error=True)
        self.assertEqual(reply["status"], "error")
        _, out, _ = run(self.kc, 'print(#d, pcall(features.get, "broken"))')
        self.assertTrue(out.startswith("400\tfalse"), out)
        reply, _, _ = run(self.kc, "%%sql --bogus x\nSELECT 1",
                          allow_error=True)
        self.assertEqual(reply["ename"], "UsageError")

    def test_line_magic_and_rebinding(self):
        _, _, r = run(self.kc, "%sql SELECT count(*) AS n FROM small")
        self.assertRegex(r["text/plain"], r"\n\s*1\s+3\n")
        run(self.kc, "small = features.frame{id = {7}}")
        _, _, r = run(self.kc, "%sql SELECT count(*) AS n FROM small")
        self.assertRegex(r["text/plain"], r"\n\s*1\s+1\n")
        run(self.kc, "small = features.frame{id = {1, 2, 3}, "
                     "name = {'a', 'b', 'c'}, score = {0.5, 0/0, 2.5}, "
                     "flag = {true, false, true}}")

    def test_line_magic_options_lead_the_statement(self):
        _, _, r = run(self.kc, "%sql --lua ids --save sql_line_ids "
                               "SELECT id FROM small WHERE id > 1")
        self.assertIn("saved as sql_line_ids@1", r["text/plain"])
        _, _, r = run(self.kc, "ids.id:sum()")
        self.assertEqual(float(r["text/plain"]), 5)
        _, _, r = run(self.kc, "%sql --save=sql_line_eq SELECT 1 AS a")
        self.assertIn("saved as sql_line_eq@1", r["text/plain"])
        # each of these would otherwise run and quietly not save
        for line, why in [
                ("%sql --save only_a_name", "a statement is needed"),
                ("%sql SELECT 1 --save x", "options go before"),
                ("%sql --lua --save SELECT 1", "a name must follow --lua"),
                ("%%sql --lua --save\nSELECT 1", "a name must follow --lua"),
                ("%sql --save= SELECT 1", "a name must follow --save")]:
            c, _, _ = run(self.kc, line, allow_error=True)
            self.assertEqual(c["ename"], "UsageError", line)
            self.assertIn(why, c["evalue"], line)
            self.assertIn("[--save NAME]", c["evalue"], line)
        _, _, r = run(self.kc, "%sql SELECT 1 AS a -- a real comment")
        self.assertIn("1 row", r["text/plain"])

    def test_attach_is_refused(self):
        path = os.path.join(self.dir, "reg.sqlite")
        c, _, _ = run(self.kc, "%%sql\nATTACH '" + path + "' AS r",
                      allow_error=True)
        self.assertIn("ATTACH is turned off", c["evalue"])

    def test_interrupt_stops_a_long_query(self):
        msg_id = self.kc.execute(
            "%%sql\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
            "SELECT x + 1 FROM c) SELECT count(*) FROM c")
        reply = interrupt_until_reply(self.km, self.kc)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")
        wait_idle(self.kc, reply["parent_header"]["msg_id"])
        _, _, r = run(self.kc, "%sql SELECT 41 + 1 AS v")
        self.assertIn("42", r["text/plain"])

    def test_completion_and_is_complete(self):
        def complete(code):
            self.kc.complete(code, len(code))
            return self.kc.get_shell_msg(timeout=30)["content"]["matches"]
        self.assertIn("churn", complete("%%sql\nSELECT * FROM chu"))
        self.assertIn("small", complete("%%sql\nSELECT * FROM sma"))
        self.assertIn("score", complete("%%sql\nSELECT small.sc"))
        self.assertIn("SELECT", complete("%%sql\nSEL"))

        def status(code):
            self.kc.is_complete(code)
            return self.kc.get_shell_msg(timeout=30)["content"]["status"]
        self.assertEqual(status("%%sql\nSELECT 1"), "incomplete")
        self.assertEqual(status("%%sql\nSELECT 1;"), "complete")
        self.assertEqual(status("%%sql"), "incomplete")

    def test_timeit_on_sql(self):
        _, out, _ = run(self.kc, "%%timeit -n 3 -r 2\n%%sql\n"
                                 "SELECT count(*) FROM d WHERE x1 > 0")
        self.assertIn("of 2 runs, 3 loops each", out)
        _, out, _ = run(self.kc, "%%sql\n%timeit -n 2 -r 2 SELECT 1")
        self.assertIn("of 2 runs, 2 loops each", out)
        _, _, r = run(self.kc, "%%sql\n%timeit -q -o -n 4 -r 3 SELECT 1")
        self.assertIn("<TimeitResult : ", r["text/plain"])
        _, out, _ = run(self.kc, "print(_.loops, _['repeat'])")
        self.assertEqual(out, "4\t3\n")
        _, out, r = run(self.kc, "%%time\n%%sql\nSELECT 6 * 7 AS v")
        self.assertIn("Wall time", out)
        self.assertIn("42", r["text/plain"])


if __name__ == "__main__":
    unittest.main()
