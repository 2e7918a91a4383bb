"""%promote, %models --history and models.promote through a real client:
models trained on binary.csv and compared on binary_eval.csv (registered
as a frame); default gates that accept a version as good as production
and refuse a worse one; explicit gates of every kind (metric against
production, benchmark, drift, validation, and/or/not); a refusal that
leaves every stage as it was; an override that needs a reason and is
logged as forced; bad gate expressions that say where they are wrong;
and the audit log, read back after a kernel restart."""
import os
import re
import shutil
import sqlite3
import tempfile
import unittest

from jupyter_client.manager import start_new_kernel

from test_features import run

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "unit", "registry", "fixtures", "models")
BINARY = os.path.join(FIXTURES, "binary.csv")
EVAL = os.path.join(FIXTURES, "binary_eval.csv")
MIME = "application/vnd.trellis.promotion+json"


class PromoteTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="trellis-promote-")
        cls.registry = os.path.join(cls.dir, "reg.sqlite")
        cls.env = dict(os.environ, TRELLIS_REGISTRY=cls.registry,
                       USER="promote-tester")
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis", env=cls.env)
        # live: the evaluation rows with x1 moved, for drift and validation
        run(cls.kc, 'd = features.read_csv("%s")\n'
                    'ev = features.read_csv("%s")\n'
                    'features.register("pholdout", ev)\n'
                    'live = ev:copy()\n'
                    'live.x1 = live.x1 * 3 + 2' % (BINARY, EVAL))

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def models(self, name):
        """name@1 and name@2 the same logistic model (equal metrics),
        name@3 a weak one on x3 alone; all compared on pholdout@1."""
        run(self.kc, 'for i = 1, 2 do models.train{name = "%s", algo = '
                     '"logistic", data = d, target = "label", progress = '
                     'false, features = {"x1", "x2"}} end\n'
                     'models.train{name = "%s", algo = "logistic", data = d,'
                     ' target = "label", progress = false, features = '
                     '{"x3"}}' % (name, name))
        run(self.kc, "%%compare %s@1 %s@2 %s@3 --on pholdout --bootstrap 0"
                     % (name, name, name))

    def stages(self, name, n=3):
        _, out, _ = run(self.kc, 'for v = 1, %d do io.write(models.get('
                        '"%s@" .. v).stage, " ") end' % (n, name))
        return out.split()

    def promote(self, args, ok=True):
        """Runs %promote; (reply, text/plain, html, the result as data)."""
        reply, _, r = run(self.kc, "%promote " + args, allow_error=not ok)
        if ok:
            self.assertEqual(reply["status"], "ok", reply)
        return (reply, r.get("text/plain", ""), r.get("text/html", ""),
                r.get(MIME))

    def test_default_gates_accept_and_refuse(self):
        self.models("pd")
        # no production yet: nothing to be worse than
        _, text, _, data = self.promote("pd@1 production")
        self.assertIn("promoted pd@1 to production", text)
        self.assertIn("note: no version of pd is in production", text)
        self.assertEqual(data["gates"], [])
        # the weak model is worse on every recorded metric: refused
        reply, text, html, data = self.promote("pd@3 production", ok=False)
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "PromotionRefused")
        self.assertTrue(reply["evalue"].startswith("refused: 4 of 4 gates "
                                                   "failed"), reply)
        self.assertIn("pd@3 stays in none", reply["evalue"])
        self.assertRegex(text, r"FAIL +auc@pholdout@1 >= production +"
                               r"auc@pholdout@1 = 0\.5\d+ >= production "
                               r"0\.8\d+ \(production is pd@1\)")
        self.assertIn("logloss@pholdout@1 <= production", text)
        self.assertIn("4 default gates", text)
        self.assertIn("<table>", html)
        self.assertIn("\u2717", html)
        self.assertEqual([g["outcome"] for g in data["gates"]], ["fail"] * 4)
        self.assertEqual(self.stages("pd"), ["production", "none", "none"])
        # an equal model is not worse: accepted, and production moves
        _, text, _, _ = self.promote("pd@2 staging")
        self.assertIn("promoted pd@2 to staging", text)
        self.assertEqual(text.count("pass "), 4)
        _, text, _, data = self.promote("pd@staging production")
        self.assertIn("promoted pd@2 to production (pd@1 archived)", text)
        self.assertEqual(data["from"], "staging")
        self.assertEqual(self.stages("pd"),
                         ["archived", "production", "none"])
        # the result is also `_`
        _, out, _ = run(self.kc, "print(_.ok, _.outcome, _.archived, "
                                 "#_.gates, _.gates[1].default)")
        self.assertEqual(out, "true\tpromoted\tpd@1\t4\ttrue\n")

    def test_no_common_evidence_is_refused_with_what_to_run(self):
        run(self.kc, 'for i = 1, 2 do models.train{name = "pn", algo = '
                     '"logistic", data = d, target = "label", progress = '
                     'false, features = {"x1"}} end\n'
                     'models.stage("pn@1", "production")')
        reply, _, _, _ = self.promote("pn@2 production", ok=False)
        self.assertEqual(reply["ename"], "PromotionRefused")
        self.assertIn("no evidence on a common frame: pn@2 has metrics on "
                      "none, pn@1 (production) on none; run %compare pn@2 "
                      "pn@1 --on FRAME", reply["evalue"])
        self.assertEqual(self.stages("pn", 2), ["production", "none"])

    def test_explicit_gates_of_every_kind(self):
        self.models("pe")
        run(self.kc, "%bench pe@2 --on d --duration 0.05 --batch 1")
        run(self.kc, "%drift pholdout live")
        run(self.kc, "%validate pholdout --against pholdout")
        run(self.kc, "%validate live --against pholdout")
        run(self.kc, 'models.stage("pe@1", "production")')
        _, text, _, data = self.promote(
            "pe@2 production --gate auc@pholdout >= production "
            "--gate logloss@pholdout <= production + 0.01 "
            "--gate p99_ms@batch1 <= 100000 "
            "--gate drift(pholdout, live) > 0.25 "
            "--gate drift(pholdout, live, x2) < 0.1 "
            "--gate validate(pholdout) and not validate(live) "
            "--gate 'rows_per_s@batch1 > 0 or false'")
        self.assertIn("promoted pe@2 to production (pe@1 archived)", text)
        self.assertEqual([g["outcome"] for g in data["gates"]],
                         ["pass"] * 7)
        details = [g["detail"] for g in data["gates"]]
        self.assertRegex(details[1], r"^logloss@pholdout = 0\.5\d+ <= "
                                     r"production 0\.5\d+ \+ 0\.01 = "
                                     r"0\.5\d+ \(production is pe@1\)$")
        self.assertRegex(details[2], r"^p99_ms@batch1 = [\d.e-]+ <= 100000$")
        self.assertRegex(details[3], r"^drift\(pholdout, live\) = [\d.]+ > "
                                     r"0\.25$")
        self.assertEqual(details[5], "validate(pholdout) = true (true); "
                                     "validate(live) = false (false)")
        # a gate that fails refuses; one without evidence says what to run
        reply, text, _, data = self.promote(
            "pe@3 staging --gate p99_ms@batch1 <= 5 "
            "--gate auc@pholdout >= staging", ok=False)
        self.assertIn("run %bench pe@3 --on FRAME --batch 1 --threads 1",
                      text)
        self.assertIn("no version of pe is in staging", text)
        self.assertEqual(reply["evalue"], "refused: 2 of 2 gates had no "
                         "evidence (p99_ms@batch1 <= 5; auc@pholdout >= "
                         "staging); pe@3 stays in none")
        self.assertEqual(self.stages("pe"),
                         ["archived", "production", "none"])

    def test_override_needs_a_reason_and_is_logged(self):
        self.models("po")
        run(self.kc, 'models.stage("po@1", "production")')
        reply, _, _, _ = self.promote("po@3 production --force", ok=False)
        self.assertEqual(reply["ename"], "PromotionError")
        self.assertIn("an override needs a reason", reply["evalue"])
        _, text, html, data = self.promote(
            "po@3 production --gate auc@pholdout >= production --force "
            "--reason 'rollback for incident 42'")
        self.assertIn("FORCED: promoted po@3 to production although 1 of 1 "
                      "gate failed (auc@pholdout >= production) (reason: "
                      "rollback for incident 42) (po@1 archived)", text)
        self.assertIn("#c06000", html)
        self.assertEqual(data["outcome"], "forced")
        self.assertEqual(self.stages("po"),
                         ["archived", "none", "production"])

    def test_bad_gates_and_usage_errors(self):
        self.models("pb")
        cases = [
            ("%promote pb@2 production --gate auc@pholdout >=",
             "PromotionError", "gate 1 'auc@pholdout >=': column 16: expected a "
                          "number or a term after '>='"),
            ("%promote pb@2 production --gate auc >= 0.8",
             "PromotionError", "column 1: 'auc' needs a frame: write auc@FRAME"),
            ("%promote pb@2 production --gate 'p99_ms@batch1 < 5ms'",
             "PromotionError", "column 17: this is not a number"),
            ("%promote pb@2 production --gate auc@pholdout = 1",
             "PromotionError", "'=' alone is not an operator"),
            ("%promote pb@2 production --gate production > 1",
             "PromotionError", "names no metric or benchmark figure"),
            ("%promote pb@2 production --gate auc@pholdout",
             "PromotionError", "a gate must be a condition"),
            ("%promote pb@2 prod", "UsageError",
             "the stage is staging or production"),
            ("%promote pb@2", "UsageError",
             "name the model version and the stage"),
            ("%promote pb@2 production --gate", "UsageError",
             "--gate lacks its value (--gate EXPR)"),
            ("%promote pb@2 production --gates x", "UsageError",
             "unknown option --gates for %promote; options: --gate, "
             "--force, --reason"),
            ("%promote pb production", "PromotionError",
             "name the version to promote, as in pb@2"),
            ("%promote pb@9 production", "PromotionError",
             "model 'pb' has versions 1..3, not 9"),
            ('models.promote("pb@2", "archived")', None,
             "the stage is \"staging\" or \"production\""),
            ('models.promote("pb@2", "production", {gates = {"x >"}})',
             None, "gate 1 'x >': column 1: 'x' needs a frame"),
        ]
        for code, ename, needle in cases:
            reply, _, _ = run(self.kc, code, allow_error=True)
            self.assertEqual(reply["status"], "error", code)
            if ename:
                self.assertEqual(reply["ename"], ename, code)
            self.assertIn(needle, reply["evalue"], code)
        # none of them was an attempt
        db = sqlite3.connect(self.registry)
        try:
            n = db.execute("SELECT COUNT(*) FROM promotions WHERE name = "
                           "'pb'").fetchone()[0]
        finally:
            db.close()
        self.assertEqual(n, 0)
        self.assertEqual(self.stages("pb"), ["none", "none", "none"])

    def test_lua_promote_returns_a_result(self):
        self.models("pl")
        _, out, shown = run(self.kc, 'r = models.promote("pl@3", "staging",'
                            ' {gates = {"auc@pholdout > 2"}})\n'
                            'print(r.ok, r.outcome, r.gates[1].outcome, '
                            'r.gates[1].detail)\nr')
        self.assertRegex(out, r"^false\trefused\tfail\tauc@pholdout = "
                              r"0\.5\d+ > 2\n$")
        self.assertIn("refused: 1 of 1 gate failed", shown["text/plain"])
        self.assertIn("<table>", shown["text/html"])
        _, out, _ = run(self.kc, 'local m = models.get("pl@2")\n'
                        'local r = models.promote(m, "production")\n'
                        'local h = models.history("pl")\n'
                        'print(r.message, #h.promotions, '
                        'h.promotions[2].outcome, h.stages[#h.stages].stage)')
        self.assertEqual(out, "promoted pl@2 to production\t2\tpromoted\t"
                              "production\n")

    def test_audit_log_survives_a_restart(self):
        env = dict(self.env, TRELLIS_REGISTRY=os.path.join(self.dir,
                                                           "restart.sqlite"))
        km, kc = start_new_kernel(kernel_name="trellis", env=env)
        try:
            run(kc, 'd = features.read_csv("%s")\n'
                    'features.register("ra_eval", features.read_csv("%s"))\n'
                    'for i = 1, 2 do models.train{name = "ra", algo = '
                    '"logistic", data = d, target = "label", progress = '
                    'false, features = {"x1", "x2"}} end' % (BINARY, EVAL))
            run(kc, "%compare ra@1 ra@2 --on ra_eval --bootstrap 0")
            run(kc, "%promote ra@1 production")
            run(kc, "%promote ra@2 production --gate auc@ra_eval > 2",
                allow_error=True)
            run(kc, "%promote ra@2 production")
            km.restart_kernel(now=False)
            kc.wait_for_ready(timeout=60)
            _, _, r = run(kc, "%models --history ra")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        text = r["text/plain"]
        self.assertIn("ra: stage history", text)
        self.assertIn("ra: promotion attempts (audit log)", text)
        self.assertRegex(text, r"\n  1 +\S+Z +promote-tester@\S+ +ra@1 +"
                               r"none -> production +promoted\n")
        self.assertRegex(text, r"\n  2 +\S+Z +promote-tester@\S+ +ra@2 +"
                               r"none -> production +refused\n")
        self.assertIn("FAIL  auc@ra_eval > 2: auc@ra_eval = ", text)
        self.assertIn("promoted ra@2 to production (ra@1 archived)", text)
        self.assertRegex(text, r"ra@1 +archived")
        html = r["text/html"]
        self.assertEqual(html.count("<table>"), 2)
        self.assertIn("<code>auc@ra_eval &gt; 2</code>", html)
        db = sqlite3.connect(env["TRELLIS_REGISTRY"])
        try:
            rows = db.execute("SELECT id, who, version, from_stage, "
                              "to_stage, outcome, forced, session FROM "
                              "promotions ORDER BY id").fetchall()
        finally:
            db.close()
        self.assertEqual([r[:7] for r in rows], [
            (1, "promote-tester", 1, "none", "production", "promoted", 0),
            (2, "promote-tester", 2, "none", "production", "refused", 0),
            (3, "promote-tester", 2, "none", "production", "promoted", 0)])
        for row in rows:
            self.assertTrue(re.match(r"^history session \d+$", row[7]),
                            row)


if __name__ == "__main__":
    unittest.main()
