"""Executes notebooks with the real nbconvert/nbclient against the Trellis
kernelspec and checks what lands in the saved notebook.

Run through tests/with_kernelspec.sh (ctest does), which installs the
kernelspec into a temporary JUPYTER_PATH:

    tests/with_kernelspec.sh build/trellis /usr/bin/python3 -m unittest -v test_nbconvert
"""

import html.parser
import json
import os
import re
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BASICS = os.path.join(HERE, "basics.ipynb")
NBCONVERT = "/usr/bin/jupyter-nbconvert"
TIMEOUT = 120  # seconds, for a whole nbconvert run


def tmpdir():
    # Inside with_kernelspec.sh's temp dir when there is one (removed on exit).
    return tempfile.mkdtemp(prefix="nb.", dir=os.environ.get("TRELLIS_TEST_TMP"))


def nbconvert(*args):
    cmd = [NBCONVERT, "--ExecutePreprocessor.kernel_name=trellis",
           "--ExecutePreprocessor.timeout=60", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)


def execute_to_notebook(path, *extra):
    """Runs PATH with nbconvert --execute; returns (process, saved notebook or None)."""
    out = tmpdir()
    proc = nbconvert("--to", "notebook", "--execute", "--output-dir", out, *extra, path)
    saved = os.path.join(out, os.path.basename(path))
    nb = None
    if proc.returncode == 0:
        with open(saved, encoding="utf-8") as f:
            nb = json.load(f)
    return proc, nb


def text(value):
    """nbformat stores multi-line strings as lists of lines."""
    return "".join(value) if isinstance(value, list) else value


def outputs(cell):
    """The cell's outputs, normalized: strings joined, and consecutive stream
    outputs of the same name merged (the kernel flushes streams every 50 ms,
    so where one stream message ends is timing, not behaviour)."""
    result = []
    for out in cell.get("outputs", []):
        out = dict(out)
        if out["output_type"] == "stream":
            out["text"] = text(out["text"])
            prev = result[-1] if result else None
            if prev and prev["output_type"] == "stream" and prev["name"] == out["name"]:
                prev["text"] += out["text"]
                continue
        if "data" in out:
            out["data"] = {k: text(v) for k, v in out["data"].items()}
        result.append(out)
    return result


def stream(name, txt):
    return {"output_type": "stream", "name": name, "text": txt}


def result(count, plain):
    return {"output_type": "execute_result", "execution_count": count,
            "metadata": {}, "data": {"text/plain": plain}}


class TableParser(html.parser.HTMLParser):
    """Collects the cells of every <tr> of an HTML table, header cells included."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def table_rows(markup):
    p = TableParser()
    p.feed(markup)
    return p.rows


# The code cells of basics.ipynb, in order; the notebook and this list change together.
BASICS_SOURCES = [
    "1 + 2",
    'print("hello from Lua")',
    "local total = 0\nfor i = 1, 4 do\n  total = total + i\n  print(i, total)\nend\ntotal",
    "function square(x)\n  return x * x\nend",
    "square(12)",
    'display({{a = 1, b = "x"}, {a = 2, b = "y"}})',
    'display("<b>bold</b> text", "text/html")',
    'h = display("step 1")\nh:update("step 2")',
    'print("before")\nclear_output(true)\nprint("after clear")',
    'io.stderr:write("warning: careful\\n")',
    'for i = 1, 3 do\n  print("row", i)\nend',
]


class BasicsNotebook(unittest.TestCase):
    """basics.ipynb executed once with nbconvert --to notebook --execute;
    one test per cell so that one regression does not hide the others."""

    @classmethod
    def setUpClass(cls):
        cls.proc, cls.nb = execute_to_notebook(BASICS)

    def setUp(self):
        self.assertEqual(self.proc.returncode, 0,
                         "nbconvert failed:\n" + self.proc.stderr)
        self.cells = [c for c in self.nb["cells"] if c["cell_type"] == "code"]

    def cell(self, n):
        """The n-th code cell (1-based, = its execution count)."""
        return outputs(self.cells[n - 1])

    def test_sources_match(self):
        self.assertEqual([text(c["source"]) for c in self.cells], BASICS_SOURCES)
        self.assertEqual(self.nb["metadata"]["kernelspec"]["name"], "trellis")

    def test_execution_counts_in_order(self):
        self.assertEqual([c["execution_count"] for c in self.cells],
                         list(range(1, len(self.cells) + 1)))
        for c in self.cells:
            for out in c["outputs"]:
                if out["output_type"] == "execute_result":
                    self.assertEqual(out["execution_count"], c["execution_count"])

    def test_no_errors(self):
        for c in self.cells:
            for out in c["outputs"]:
                self.assertNotEqual(out["output_type"], "error",
                                    "cell %r: %r" % (text(c["source"]), out))

    def test_language_info(self):
        self.assertEqual(self.nb["metadata"]["language_info"]["name"], "lua")

    def test_arithmetic_result(self):
        self.assertEqual(self.cell(1), [result(1, "3")])

    def test_print(self):
        self.assertEqual(self.cell(2), [stream("stdout", "hello from Lua\n")])

    def test_multiline_loop(self):
        self.assertEqual(self.cell(3), [
            stream("stdout", "1\t1\n2\t3\n3\t6\n4\t10\n"),
            result(3, "10"),
        ])

    def test_globals_persist(self):
        self.assertEqual(self.cell(4), [])  # a definition shows nothing
        self.assertEqual(self.cell(5), [result(5, "144")])

    def test_records_display_as_html_table(self):
        outs = self.cell(6)
        self.assertEqual(len(outs), 1, outs)
        out = outs[0]
        self.assertEqual(out["output_type"], "display_data")
        self.assertEqual(set(out["data"]), {"text/plain", "text/html"})
        self.assertEqual(out["data"]["text/plain"], '{{a = 1, b = "x"}, {a = 2, b = "y"}}')
        self.assertEqual(table_rows(out["data"]["text/html"]),
                         [["", "a", "b"], ["1", "1", "x"], ["2", "2", "y"]])
        self.assertEqual(out["data"]["text/html"].count("<table"), 1)

    def test_display_with_mime(self):
        outs = self.cell(7)
        self.assertEqual(len(outs), 1, outs)
        self.assertEqual(outs[0]["output_type"], "display_data")
        self.assertEqual(set(outs[0]["data"]), {"text/plain", "text/html"})
        self.assertEqual(outs[0]["data"]["text/html"], "<b>bold</b> text")

    def test_display_handle_update(self):
        # nbclient applies update_display_data to the output with that
        # display_id: the saved notebook holds the updated value only.
        self.assertEqual(self.cell(8), [{
            "output_type": "display_data", "metadata": {},
            "data": {"text/plain": '"step 2"'},
        }])

    def test_clear_output_wait(self):
        self.assertEqual(self.cell(9), [stream("stdout", "after clear\n")])

    def test_stderr(self):
        self.assertEqual(self.cell(10), [stream("stderr", "warning: careful\n")])

    def test_loop_ending_the_cell(self):
        # a block statement last in the cell is run whole, not turned into
        # a result (no `return` slipped into its body)
        self.assertEqual(self.cell(11), [stream("stdout", "row\t1\nrow\t2\nrow\t3\n")])


def write_notebook(sources):
    path = os.path.join(tmpdir(), "errors.ipynb")
    nb = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "trellis", "display_name": "Trellis",
                                    "language": "lua"},
                     "language_info": {"name": "lua"}},
        "cells": [{"cell_type": "code", "id": "cell-%d" % i, "metadata": {},
                   "execution_count": None, "outputs": [], "source": s}
                  for i, s in enumerate(sources)],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(nb, f)
    return path


class ErrorNotebook(unittest.TestCase):
    SOURCES = ['print("before")', 'error("boom")', 'print("after")']

    def test_error_fails_nbconvert(self):
        proc, _ = execute_to_notebook(write_notebook(self.SOURCES))
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("LuaError", proc.stderr)
        self.assertIn("boom", proc.stderr)

    def test_allow_errors(self):
        proc, nb = execute_to_notebook(write_notebook(self.SOURCES), "--allow-errors")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        cells = nb["cells"]
        self.assertEqual([c["execution_count"] for c in cells], [1, 2, 3])
        self.assertEqual(outputs(cells[0]), [stream("stdout", "before\n")])
        outs = outputs(cells[1])
        self.assertEqual(len(outs), 1, outs)
        err = outs[0]
        self.assertEqual(err["output_type"], "error")
        self.assertEqual(err["ename"], "LuaError")
        self.assertIn("boom", err["evalue"])
        self.assertIsInstance(err["traceback"], list)
        self.assertTrue(any("boom" in line for line in err["traceback"]), err["traceback"])
        self.assertEqual(outputs(cells[2]), [stream("stdout", "after\n")])


class ModelsNotebook(unittest.TestCase):
    """Training in a headless run: nbclient applies the progress bar's
    updates, so the saved notebook holds one output, the final bar."""

    def test_progress_bar_ends_final_in_saved_notebook(self):
        binary = os.path.join(HERE, "..", "unit", "registry", "fixtures",
                              "models", "binary.csv")
        path = write_notebook([
            'd = features.read_csv("%s")' % binary,
            'm = models.train{name = "nb_model", data = d, target = "label",'
            ' params = {num_boost_round = 400, max_depth = 10, eta = 0.01,'
            ' nthread = 1}}',
            "%models nb_model",
        ])
        proc, nb = execute_to_notebook(path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        outs = outputs(nb["cells"][1])
        self.assertEqual(len(outs), 1, outs)
        bar = text(outs[0]["data"]["text/plain"])
        self.assertIn("400/400", bar)
        self.assertIn("registered nb_model@1", bar)
        table = outputs(nb["cells"][2])[0]["data"]
        self.assertIn("nb_model@1", text(table["text/html"]))

    def test_compare_renders_table_and_plots(self):
        fixtures = os.path.join(HERE, "..", "unit", "registry", "fixtures",
                                "models")
        path = write_notebook([
            'd = features.read_csv("%s")\n'
            'valid = features.read_csv("%s")\n'
            'a = models.train{name = "nb_a", data = d, target = "label", '
            'progress = false, params = {num_boost_round = 10}}\n'
            'b = models.train{name = "nb_b", algo = "logistic", data = d, '
            'target = "label", progress = false, '
            'features = {"x1", "x2", "plan"}}'
            % (os.path.join(fixtures, "binary.csv"),
               os.path.join(fixtures, "binary_eval.csv")),
            "%compare a b --on valid --bootstrap 200 --seed 3",
        ])
        proc, nb = execute_to_notebook(path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        outs = outputs(nb["cells"][1])
        self.assertEqual(len(outs), 1, outs)
        data = outs[0]["data"]
        html = text(data["text/html"])
        self.assertIn("<table>", html)
        self.assertIn("<svg", html)
        self.assertIn("nb_b@1", html)
        self.assertIn("200 paired bootstrap resamples (seed 3)",
                      text(data["text/plain"]))


class BenchNotebook(unittest.TestCase):
    """%bench on a small model, headless: the saved notebook holds its
    table and curves, and the HTML export shows them (the SVG is inside
    the HTML, which nbconvert 6.5 keeps)."""

    SOURCES = [
        'd = features.read_csv("%s")\n'
        'm = models.train{name = "nb_bench", data = d, target = "label", '
        'progress = false, params = {num_boost_round = 10, nthread = 1}}'
        % os.path.join(HERE, "..", "unit", "registry", "fixtures", "models",
                       "binary.csv"),
        "%bench m --on d --duration 0.2 --batch 1,32",
    ]

    def test_saved_notebook_has_table_and_curves(self):
        proc, nb = execute_to_notebook(write_notebook(self.SOURCES))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        outs = outputs(nb["cells"][1])
        self.assertEqual(len(outs), 1, outs)
        self.assertEqual(outs[0]["output_type"], "display_data")
        data = outs[0]["data"]
        plain = text(data["text/plain"])
        self.assertRegex(plain, r"recorded as benchmark \d+")
        rows = table_rows(text(data["text/html"]))
        self.assertEqual(rows[0][:4], ["model", "threads", "batch", "calls"])
        # (the other test of this class may have trained version 1)
        self.assertEqual([r[1:3] for r in rows[1:]], [["1", "1"],
                                                      ["1", "32"]])
        for r in rows[1:]:
            self.assertRegex(r[0], r"^nb_bench@\d+$")
        html = text(data["text/html"])
        self.assertIn("<svg", html)
        self.assertEqual(html.count("<polyline"), 2)
        # the result as data rides along for clients that want numbers
        result = data["application/vnd.trellis.bench+json"]
        self.assertEqual([r["batch"] for r in result["results"]], [1, 32])

    def test_html_export_shows_table_and_curves(self):
        path = write_notebook(self.SOURCES)
        out = tmpdir()
        proc = nbconvert("--to", "html", "--execute", "--output-dir", out,
                         path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(out, "errors.html"), encoding="utf-8") as f:
            page = f.read()
        self.assertIn("<th>p99.9 ms</th>", page)
        self.assertRegex(page, r"<td>nb_bench@\d+</td>")
        self.assertIn("batch 32</text>", page)
        self.assertEqual(page.count("<polyline"), 2)


class PolyglotNotebook(unittest.TestCase):
    """Lua and SQL cells over one frame, both ways, and the timing magics
    in a headless run."""

    def test_lua_sql_lua(self):
        binary = os.path.join(HERE, "..", "unit", "registry", "fixtures",
                              "models", "binary.csv")
        path = write_notebook([
            'd = features.read_csv("%s")\n'
            'features.register("nb_churn", d);' % binary,
            "%%sql --lua by_plan --save nb_plans\n"
            "SELECT plan, count(*) AS n, avg(x1) AS mean_x1\n"
            "FROM nb_churn GROUP BY plan ORDER BY plan",
            "print(#by_plan, by_plan.n:sum(), features.version('nb_plans'):ref())",
            "%timeit -n 10 -r 2 by_plan.n:sum()",
            "%%time\n%%sql\nSELECT count(*) AS n FROM d WHERE plan = 'pro'",
        ])
        proc, nb = execute_to_notebook(path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        cells = nb["cells"]
        table = outputs(cells[1])[0]["data"]
        self.assertIn("<table", text(table["text/html"]))
        self.assertIn("saved as nb_plans@1", text(table["text/plain"]))
        self.assertEqual(outputs(cells[2]),
                         [stream("stdout", "5\t400.0\tnb_plans@1\n")])
        self.assertRegex(text(outputs(cells[3])[0]["text"]),
                         r"per loop \(mean \u00b1 std\. dev\. of 2 runs, "
                         r"10 loops each\)")
        outs = outputs(cells[4])
        self.assertEqual([o["output_type"] for o in outs],
                         ["stream", "execute_result"])
        self.assertIn("Wall time:", text(outs[0]["text"]))


class GuardNotebook(unittest.TestCase):
    """%drift in a headless run: its table and the SVG histograms of the
    flagged features travel inside text/html, so both the saved notebook
    and nbconvert's HTML export (which drops image/svg+xml) keep them."""

    def test_drift_renders_table_and_histograms(self):
        fixtures = os.path.join(HERE, "..", "unit", "registry", "fixtures",
                                "models")
        path = write_notebook([
            'd = features.read_csv("%s")\n'
            'live = features.read_csv("%s")\n'
            'live.x1 = live.x1 * 2 + 1'
            % (os.path.join(fixtures, "binary.csv"),
               os.path.join(fixtures, "binary_eval.csv")),
            "%drift d live --threshold 0.25",
        ])
        proc, nb = execute_to_notebook(path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        outs = outputs(nb["cells"][1])
        self.assertEqual(len(outs), 1, outs)
        data = outs[0]["data"]
        html = text(data["text/html"])
        self.assertIn("<table>", html)
        self.assertIn("<svg", html)
        self.assertIn("x1: PSI", html)
        self.assertIn("drift of live from d", text(data["text/plain"]))
        out = tmpdir()
        proc = nbconvert("--to", "html", "--execute", "--output-dir", out,
                         path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        name = os.path.splitext(os.path.basename(path))[0] + ".html"
        with open(os.path.join(out, name), encoding="utf-8") as f:
            page = f.read()
        self.assertIn("x1: PSI", page)
        self.assertRegex(page, r"<svg[^>]*>")
        self.assertIn("fill-opacity=\"0.5\"", page)


class HtmlExport(unittest.TestCase):
    def test_html_contains_rendered_table(self):
        out = tmpdir()
        proc = nbconvert("--to", "html", "--execute", "--output-dir", out, BASICS)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(out, "basics.html"), encoding="utf-8") as f:
            page = f.read()
        compact = re.sub(r">\s+<", "><", page)
        self.assertIn("<th></th><th>a</th><th>b</th>", compact)
        self.assertIn("<tr><th>1</th><td>1</td><td>x</td></tr>", compact)
        self.assertIn("<tr><th>2</th><td>2</td><td>y</td></tr>", compact)
        self.assertIn("<b>bold</b> text", page)
        self.assertIn("hello from Lua", page)
        self.assertNotIn("LuaError", page)


if __name__ == "__main__":
    unittest.main()
