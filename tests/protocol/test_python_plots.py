"""matplotlib in %%python cells through a real client, as ipykernel with
matplotlib-inline shows figures: at the end of the cell that drew them
(then closed), at plt.show(), as a cell's value, never twice; PNG, retina
PNG or SVG; `%matplotlib inline`; errors and interrupts that leave no
figure behind; the user's own MPLBACKEND; a Python without matplotlib."""
import base64
import os
import shutil
import struct
import tempfile
import unittest

from jupyter_client.manager import start_new_kernel

from test_features import TIMEOUT, interrupt_until_reply, run, wait_idle
from test_python import kernel_env

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def cell(kc, code):
    """The reply's content and [(msg_type, content)] of the cell's iopub
    output (no status, no execute_input), in order."""
    msg_id = kc.execute(code, allow_stdin=False)
    reply = kc.get_shell_msg(timeout=TIMEOUT)["content"]
    out = []
    while True:
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        t = m["msg_type"]
        if t == "status" and m["content"]["execution_state"] == "idle":
            return reply, out
        if t not in ("status", "execute_input"):
            out.append((t, m["content"]))


def of_type(out, msg_type):
    return [c for t, c in out if t == msg_type]


def png_size(b64):
    """(width, height) of a base64 PNG, checking that it is one."""
    png = base64.b64decode(b64)
    assert png[:8] == PNG_SIGNATURE, png[:8]
    assert png[12:16] == b"IHDR", png[12:16]
    return struct.unpack(">II", png[16:24])


class PlotTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis",
                                          env=kernel_env())
        run(cls.kc, "%%python\nimport matplotlib\n"
                    "import matplotlib.pyplot as plt\nimport _trellis_mpl")

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    def ok(self, code):
        reply, out = cell(self.kc, code)
        self.assertEqual(reply["status"], "ok", (code, reply))
        return out

    def open_figures(self):
        _, _, r = run(self.kc, "%%python\nplt.get_fignums()")
        return r["text/plain"]

    # ---- when figures show ---------------------------------------------------

    def test_figures_drawn_in_a_cell_show_at_its_end_as_png(self):
        _, _, r = run(self.kc, "%%python\nmatplotlib.get_backend()")
        self.assertEqual(r["text/plain"], "'module://_trellis_mpl'")
        out = self.ok("%%python\nplt.plot([1, 2, 3])")
        # the value first, then the figure, as ipykernel
        self.assertEqual([t for t, _ in out],
                         ["execute_result", "display_data"])
        self.assertIn("Line2D", out[0][1]["data"]["text/plain"])
        shown = out[1][1]
        self.assertEqual(shown["data"]["text/plain"],
                         "<Figure size 640x480 with 1 Axes>")
        self.assertEqual(shown["metadata"], {})
        self.assertNotIn("image/svg+xml", shown["data"])
        w, h = png_size(shown["data"]["image/png"])
        # 6.4 x 4.8 inches at 100 dpi, cropped to what is drawn
        self.assertTrue(400 < w <= 640 and 300 < h <= 480, (w, h))
        out = self.ok("%%python\nplt.figure(figsize=(3, 2))\n"
                      "plt.plot([1]);")
        (shown,) = of_type(out, "display_data")
        self.assertEqual(shown["data"]["text/plain"],
                         "<Figure size 300x200 with 1 Axes>")
        w, h = png_size(shown["data"]["image/png"])
        # tick labels may reach past the figure's edge
        self.assertTrue(w < 400 and h < 300, (w, h))

    def test_figures_are_closed_at_the_end_of_the_cell(self):
        self.ok("%%python\nfig, ax = plt.subplots()\nax.plot([1, 2])")
        self.assertEqual(self.open_figures(), "[]")
        out = self.ok("%%python\nx_after_plot = 1")
        self.assertEqual(of_type(out, "display_data"), [])
        # closed before the end: never shown
        out = self.ok("%%python\nfig = plt.figure()\n"
                      "fig.add_subplot().plot([1])\nplt.close(fig)")
        self.assertEqual(of_type(out, "display_data"), [])

    def test_show_displays_at_once_and_not_again(self):
        out = self.ok("%%python\nplt.plot([1, 2])\nplt.show()\n"
                      "print('after')")
        self.assertEqual([t for t, _ in out], ["display_data", "stream"])
        png_size(out[0][1]["data"]["image/png"])
        self.assertEqual(out[1][1]["text"], "after\n")
        self.assertEqual(self.open_figures(), "[]")

    def test_ioff_keeps_figures_for_show(self):
        """As matplotlib-inline: out of interactive mode nothing shows by
        itself and figures stay open until plt.show()."""
        try:
            out = self.ok("%%python\nplt.ioff()\nplt.plot([1]);")
            self.assertEqual(of_type(out, "display_data"), [])
            self.assertEqual(self.open_figures(), "[1]")
            out = self.ok("%%python\nplt.show()")
            self.assertEqual(len(of_type(out, "display_data")), 1)
            self.assertEqual(self.open_figures(), "[]")
        finally:
            run(self.kc, "%%python\nplt.close('all')\nplt.ion()")

    # ---- never twice -----------------------------------------------------------

    def test_figure_as_the_last_expression_is_the_result_only(self):
        out = self.ok("%%python\nfig, ax = plt.subplots()\n"
                      "ax.plot([3, 1])\nfig")
        self.assertEqual([t for t, _ in out], ["execute_result"])
        data = out[0][1]["data"]
        self.assertEqual(data["text/plain"],
                         "<Figure size 640x480 with 1 Axes>")
        png_size(data["image/png"])
        # a Figure pyplot does not manage
        out = self.ok("%%python\nfrom matplotlib.figure import Figure\n"
                      "f = Figure()\nf.add_subplot().plot([1])\nf")
        self.assertEqual([t for t, _ in out], ["execute_result"])
        png_size(out[0][1]["data"]["image/png"])
        # an empty figure has no image, as in IPython
        out = self.ok("%%python\nplt.figure()")
        self.assertEqual(out, [("execute_result", out[0][1])])
        self.assertEqual(list(out[0][1]["data"]), ["text/plain"])

    def test_displayed_figure_shows_again_only_when_changed(self):
        out = self.ok("%%python\nfig, ax = plt.subplots()\nax.plot([1])\n"
                      "display(fig)")
        self.assertEqual(len(of_type(out, "display_data")), 1)
        out = self.ok("%%python\nfig, ax = plt.subplots()\nax.plot([1])\n"
                      "display(fig)\nax.set_title('changed');")
        shown = of_type(out, "display_data")
        self.assertEqual(len(shown), 2)
        self.assertNotEqual(shown[0]["data"]["image/png"],
                            shown[1]["data"]["image/png"])

    # ---- formats ---------------------------------------------------------------

    def test_svg_retina_and_png_formats(self):
        try:
            _, _, r = run(self.kc, "%%python\n"
                                   "_trellis_mpl.set_figure_formats('svg')")
            self.assertEqual(r["text/plain"], "('svg',)")
            out = self.ok("%%python\nplt.plot([1, 2]);")
            (shown,) = of_type(out, "display_data")
            self.assertEqual(sorted(shown["data"]),
                             ["image/svg+xml", "text/plain"])
            svg = shown["data"]["image/svg+xml"]
            self.assertTrue(svg.startswith("<?xml"), svg[:40])
            self.assertIn("<svg", svg)
            # a value too
            out = self.ok("%%python\nfig, ax = plt.subplots()\n"
                          "ax.plot([1])\nfig")
            self.assertIn("image/svg+xml", out[0][1]["data"])

            run(self.kc, "%%python\n"
                         "_trellis_mpl.set_figure_formats('png', 'svg');")
            out = self.ok("%%python\nplt.plot([1, 2]);")
            (shown,) = of_type(out, "display_data")
            self.assertIn("<svg", shown["data"]["image/svg+xml"])
            png_size(shown["data"]["image/png"])
            self.assertEqual(shown["metadata"], {})

            # retina: twice the pixels, shown at png's size (IPython's
            # metadata)
            run(self.kc, "%%python\n"
                         "_trellis_mpl.set_figure_formats('retina');")
            out = self.ok("%%python\nplt.plot([1, 2]);")
            (shown,) = of_type(out, "display_data")
            w, h = png_size(shown["data"]["image/png"])
            self.assertTrue(800 < w <= 1280, w)
            self.assertEqual(shown["metadata"],
                             {"image/png": {"width": w // 2,
                                            "height": h // 2}})

            reply, out = cell(self.kc, "%%python\n"
                              "_trellis_mpl.set_figure_formats('retina', "
                              "'bogus')")
            self.assertEqual(reply["ename"], "ValueError")
            self.assertIn("'bogus'", reply["evalue"])
            self.assertIn("'svg'", reply["evalue"])
            _, _, r = run(self.kc, "%%python\n"
                                   "_trellis_mpl.set_figure_formats()")
            self.assertEqual(r["text/plain"], "('retina',)",
                             "a bad call changes nothing")
        finally:
            run(self.kc, "%%python\n_trellis_mpl.set_figure_formats('png');")

    # ---- magics, errors, interrupts --------------------------------------------

    def test_matplotlib_inline_magic_is_accepted(self):
        out = self.ok("%%python\n%matplotlib inline\n"
                      "plt.plot([1, 2]);")
        (shown,) = of_type(out, "display_data")
        png_size(shown["data"]["image/png"])
        self.ok("%matplotlib")
        reply, _ = cell(self.kc, "%matplotlib qt")
        self.assertEqual(reply["ename"], "UsageError")
        self.assertIn("only the inline backend", reply["evalue"])

    def test_a_cell_that_fails_still_shows_and_closes_its_figures(self):
        reply, out = cell(self.kc, "%%python\nplt.plot([1, 2])\n1 / 0")
        self.assertEqual(reply["ename"], "ZeroDivisionError")
        self.assertEqual([t for t, _ in out], ["display_data", "error"])
        self.assertEqual(self.open_figures(), "[]")

    def test_a_figure_that_cannot_be_drawn_is_closed(self):
        run(self.kc, "%%python\nfrom matplotlib.artist import Artist\n"
                     "class Boom(Artist):\n"
                     "    def draw(self, renderer):\n"
                     "        raise RuntimeError('boom')\n"
                     "class Stop(Artist):\n"
                     "    def draw(self, renderer):\n"
                     "        raise KeyboardInterrupt\n")
        # the cell's error when it had none
        reply, _ = cell(self.kc, "%%python\nfig, ax = plt.subplots()\n"
                                 "ax.add_artist(Boom());")
        self.assertEqual((reply["ename"], reply["evalue"]),
                         ("RuntimeError", "boom"))
        self.assertEqual(self.open_figures(), "[]")
        # the cell's own error stands
        reply, out = cell(self.kc, "%%python\nfig, ax = plt.subplots()\n"
                                   "ax.add_artist(Boom())\n1 / 0")
        self.assertEqual(reply["ename"], "ZeroDivisionError")
        self.assertIn("RuntimeError: boom",
                      "".join(c["text"] for c in of_type(out, "stream")))
        self.assertEqual(self.open_figures(), "[]")
        # an interrupt landing while a figure is drawn
        reply, _ = cell(self.kc, "%%python\nfig, ax = plt.subplots()\n"
                                 "ax.add_artist(Stop());")
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertEqual(self.open_figures(), "[]")
        out = self.ok("%%python\nplt.plot([1]);")
        (shown,) = of_type(out, "display_data")
        png_size(shown["data"]["image/png"])

    def test_interrupted_cell_leaves_no_figure_open(self):
        msg_id = self.kc.execute("%%python\nplt.plot([1, 2])\n"
                                 "while True: pass")
        reply = interrupt_until_reply(self.km, self.kc)["content"]
        wait_idle(self.kc, msg_id)
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertEqual(self.open_figures(), "[]")
        out = self.ok("%%python\nplt.plot([1]);")
        self.assertEqual(len(of_type(out, "display_data")), 1)

    def test_child_processes_do_not_inherit_the_backend(self):
        """MPLBACKEND is not set for the kernel: a python3 a cell starts,
        even with os.environ copied, has no _trellis_mpl to load."""
        _, _, r = run(self.kc, "%%python\nimport os, subprocess, sys\n"
                               "p = subprocess.run([sys.executable, '-c', "
                               "'import matplotlib.pyplot as p; "
                               "print(p.get_backend())'], "
                               "env=dict(os.environ), capture_output=True, "
                               "text=True)\n"
                               "os.environ.get('MPLBACKEND'), p.returncode, "
                               "p.stdout.strip()")
        self.assertEqual(r["text/plain"], "(None, 0, 'agg')")


class UserBackendTests(unittest.TestCase):
    """MPLBACKEND set by the user wins, as in ipykernel: no figure shows
    by itself; a figure as a cell's value still renders."""

    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis",
                                          env=kernel_env(MPLBACKEND="agg"))

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    def test_the_users_backend_is_kept(self):
        reply, out = cell(self.kc, "%%python\n"
                                   "import matplotlib.pyplot as plt\n"
                                   "plt.plot([1])\nplt.get_backend()")
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(of_type(out, "display_data"), [])
        self.assertEqual(of_type(out, "execute_result")[0]["data"]
                         ["text/plain"], "'agg'")
        _, _, r = run(self.kc, "%%python\nplt.gcf()")
        png_size(r["image/png"])


class WithoutMatplotlibTests(unittest.TestCase):
    """A stand-in matplotlib that fails to import (and says when anything
    tried): cells that do not plot never import it, and one that does gets
    Python's own ImportError."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="trellis-nompl-")
        cls.tried = os.path.join(cls.dir, "tried")
        os.mkdir(os.path.join(cls.dir, "matplotlib"))
        with open(os.path.join(cls.dir, "matplotlib", "__init__.py"),
                  "w") as f:
            f.write("open(%r, 'w').close()\n"
                    "raise ImportError('no matplotlib here')\n" % cls.tried)
        cls.km, cls.kc = start_new_kernel(
            kernel_name="trellis", env=kernel_env(PYTHONPATH=cls.dir))

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_cells_run_and_plotting_fails_as_python_says(self):
        _, _, r = run(self.kc, "%%python\nx = 6 * 7\nx")
        self.assertEqual(r["text/plain"], "42")
        reply, out = cell(self.kc, "%%python\ndisplay('shown')\n"
                                   "print('printed')\n1 / 0")
        self.assertEqual(reply["ename"], "ZeroDivisionError")
        self.assertEqual([t for t, _ in out],
                         ["display_data", "stream", "error"])
        self.assertFalse(os.path.exists(self.tried),
                         "nothing imported matplotlib")
        reply, _ = cell(self.kc, "%%python\nimport matplotlib.pyplot")
        self.assertEqual((reply["ename"], reply["evalue"]),
                         ("ImportError", "no matplotlib here"))
        self.assertTrue(os.path.exists(self.tried))
        _, _, r = run(self.kc, "%%python\nx + 1")
        self.assertEqual(r["text/plain"], "43")


if __name__ == "__main__":
    unittest.main()
