"""The example notebooks a new user runs first (examples/*.ipynb), executed
headless by nbconvert as the README says, on a fresh registry and then
again on the same one (a second run in JupyterLab is the common case).
The rendered HTML is kept under $TRELLIS_ARTIFACTS when it is set.

Run through tests/with_kernelspec.sh (ctest does)."""
import base64
import filecmp
import json
import os
import shutil
import subprocess
import sys
import unittest

from test_nbconvert import NBCONVERT, outputs, tmpdir

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.normpath(os.path.join(HERE, "..", "..", "examples"))


def nbconvert(registry, *args):
    # the kernel starts in the notebook's directory, where data/ is;
    # under ASan, whole stacks, so that NumPy's allocations the embedded
    # interpreter keeps at exit show libpython (tests/lsan_libpython.supp)
    env = dict(os.environ, TRELLIS_REGISTRY=registry,
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "")
               + ":fast_unwind_on_malloc=0")
    proc = subprocess.run([NBCONVERT, "--ExecutePreprocessor.kernel_name=trellis",
                           "--ExecutePreprocessor.timeout=300", *args],
                          capture_output=True, text=True, timeout=900, env=env)
    if proc.returncode != 0:
        raise AssertionError("nbconvert %s failed:\n%s" % (" ".join(args),
                                                          proc.stderr[-4000:]))


def execute(name, registry):
    """Executes examples/NAME.ipynb on registry; returns the saved notebook
    and the path of its HTML rendering."""
    out = tmpdir()
    nbconvert(registry, "--to", "notebook", "--execute", "--output-dir", out,
              os.path.join(EXAMPLES, name + ".ipynb"))
    saved = os.path.join(out, name + ".ipynb")
    with open(saved, encoding="utf-8") as f:
        nb = json.load(f)
    nbconvert(registry, "--to", "html", "--output-dir", out, saved)
    html = os.path.join(out, name + ".html")
    artifacts = os.environ.get("TRELLIS_ARTIFACTS")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(html, artifacts)
    return nb, html


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def cell_with(nb, needle):
    for c in code_cells(nb):
        if needle in "".join(c["source"]):
            return c
    raise AssertionError("no cell with %r" % needle)


def html_of(cell):
    return "".join(o["data"].get("text/html", "") for o in outputs(cell)
                   if "data" in o)


def plain_of(cell):
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                   for o in outputs(cell))


class ExampleChecks:
    name = None

    @classmethod
    def setUpClass(cls):
        cls.registry = os.path.join(tmpdir(), "registry.sqlite")
        cls.nb, cls.html = execute(cls.name, cls.registry)

    def test_no_cell_fails(self):
        # an example runs with zero errors: none is even allowed to fail
        for cell in code_cells(self.nb):
            source = "".join(cell["source"])
            self.assertNotIn("raises-exception",
                             cell["metadata"].get("tags", []), source)
            self.assertEqual([o for o in outputs(cell)
                              if o["output_type"] == "error"], [], source)

    def test_every_cell_ran_in_order(self):
        counts = [c["execution_count"] for c in code_cells(self.nb)]
        self.assertEqual(counts, list(range(1, len(counts) + 1)))

    def test_html_was_rendered(self):
        with open(self.html, encoding="utf-8") as f:
            page = f.read()
        self.assertIn("<svg", page)
        self.assertIn("<table", page)
        self.assertNotIn("Traceback (most recent call last)", page)


class Quickstart(ExampleChecks, unittest.TestCase):
    name = "quickstart"

    def test_compare_shows_intervals_and_plots(self):
        cell = cell_with(self.nb, "%compare lr xgb")
        page = html_of(cell)
        self.assertIn("<table", page)
        self.assertIn("<svg", page)
        self.assertIn("campaign_value", page)
        self.assertRegex(plain_of(cell), r"auc ↑ +[0-9.]+ \[[0-9.]+, [0-9.]+\]")
        # a long metric name does not push its row out of line
        rows = [l for l in plain_of(cell).split("\n") if "↑" in l or "↓" in l]
        self.assertEqual(len({l.index("[") for l in rows}), 1, rows)

    def test_a_refused_attempt_is_shown_not_raised(self):
        text = plain_of(cell_with(self.nb, "attempt = models.promote"))
        self.assertIn("FAIL   auc@churn_holdout >= production + 0.05", text)
        self.assertIn("refused: 1 of 1 gate failed", text)

    def test_the_winner_is_promoted_through_its_gates(self):
        text = plain_of(cell_with(self.nb, '--gate "p99_ms@batch1 < 50"'))
        self.assertEqual(text.count("  pass   "), 4, text)
        self.assertIn("promoted churn@", text)

    def test_validation_drift_and_importance_ran(self):
        self.assertIn("FAILED 1 of", plain_of(cell_with(self.nb, "%validate")))
        cell = cell_with(self.nb, "%drift subscribers subscribers_next")
        drift = plain_of(cell)
        self.assertIn("monthly_price", drift)
        self.assertIn("left out (ids", drift)
        self.assertIn("<svg", html_of(cell))  # the flagged features drawn
        self.assertIn("<svg", html_of(cell_with(self.nb, "%importance xgb --top")))

    def test_a_second_run_on_the_same_registry_works(self):
        nb, _ = execute(self.name, self.registry)
        for cell in code_cells(nb):
            self.assertEqual([o for o in outputs(cell) if o["output_type"] == "error"],
                             [], "".join(cell["source"]))
        # the second run's versions, compared with the second run's production
        text = plain_of(cell_with(nb, '--gate "p99_ms@batch1 < 50"'))
        self.assertIn("promoted churn@4", text)


class Ranking(ExampleChecks, unittest.TestCase):
    name = "ranking"

    def test_compare_resamples_users(self):
        text = plain_of(cell_with(self.nb, "%compare linear ranker popular"))
        self.assertIn("resamples of user_id groups", text)
        for metric in ("ndcg@10", "recall@10", "map@10", "mrr"):
            self.assertIn(metric, text)

    def test_ranker_is_promoted(self):
        text = plain_of(cell_with(self.nb, "%promote ranker production"))
        self.assertIn("promoted for_you@2 to production", text)


class Polyglot(ExampleChecks, unittest.TestCase):
    name = "polyglot"

    def test_python_sees_the_registry_without_copies(self):
        text = plain_of(cell_with(self.nb, 'hours = subs["watch_hours_30d"]'))
        self.assertIn("(5000, 15) float64 writeable: False", text)
        self.assertRegex(text, r"mean watch hours [0-9]+\.[0-9]{2}")
        self.assertIn("premium", text)  # the pandas groupby

    def test_python_registers_with_lineage(self):
        text = plain_of(cell_with(self.nb, 'trellis.features.register("subscribers_py"'))
        self.assertRegex(text, r"subscribers_py@\d+ \[\{'column': 'log_hours', "
                         r"'expr': '\(python\)'\}")

    def test_sql_reads_python_and_binds_back(self):
        text = plain_of(cell_with(self.nb, "%%sql --python by_plan"))
        self.assertIn("3 rows in", text)
        self.assertIn("late_payers", text)

    def test_python_draws_a_figure(self):
        cell = cell_with(self.nb, "import matplotlib.pyplot as plt")
        pngs = [o["data"]["image/png"] for o in outputs(cell)
                if "image/png" in o.get("data", {})]
        self.assertEqual(len(pngs), 1, outputs(cell))
        self.assertTrue(base64.b64decode(pngs[0]).startswith(b"\x89PNG\r\n"))

    def test_python_scores_lua_models(self):
        text = plain_of(cell_with(self.nb, "held = trellis.features.version"))
        self.assertRegex(text, r"churn_poly@\d+: auc 0\.[0-9]{3}  logloss 0\.[0-9]{3}")
        self.assertEqual(text.count("auc"), 2, text)

    def test_magics_and_lua_see_python_variables(self):
        self.assertIn("compared on an unregistered frame: 363 rows",
                      plain_of(cell_with(self.nb, "%compare lr xgb --on loyal")))
        self.assertEqual(plain_of(cell_with(self.nb, "#python.loyal")).strip(),
                         "363\t5\t24.0")


class Data(unittest.TestCase):
    def test_generator_writes_the_committed_files(self):
        out = tmpdir()
        subprocess.run([sys.executable, os.path.join(EXAMPLES, "data", "generate.py"), out],
                       check=True, timeout=120)
        for name in ("churn.csv", "churn_next.csv", "ranking.csv"):
            self.assertTrue(filecmp.cmp(os.path.join(out, name),
                                        os.path.join(EXAMPLES, "data", name), shallow=False),
                            name)


if __name__ == "__main__":
    unittest.main()
