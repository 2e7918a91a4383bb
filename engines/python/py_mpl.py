"""py_mpl.py - matplotlib figures in %%python cells as ipykernel with
matplotlib-inline shows them (loaded as _trellis_mpl, after py_io.py): an
inline backend, `module://_trellis_mpl`, picked when matplotlib is imported
unless MPLBACKEND names another. The figures a cell draws are shown at its
end and closed, plt.show() shows them at once, a figure the cell showed
already (its value, display(fig)) is not shown again unless it changed
since, and the formats are set_figure_formats()'s. Nothing here imports
matplotlib: a kernel without it, or cells that never plot, pay nothing.
"""
import base64
import importlib.util
import io
import os
import struct
import sys

import _trellis_io as tio

BACKEND = "module://_trellis_mpl"

# IPython's names: "png2x" is "retina"; png at twice the dpi, shown at
# the size png has
_ALIASES = {"png": "png", "retina": "retina", "png2x": "retina",
            "svg": "svg"}
_formats = ("png",)     # as matplotlib-inline's default
_draw_called = False    # a figure was made since the last show: flush
_shown = set()          # figures this cell showed itself (not stale
                        # since: see figure_bundle)


# ---- choosing the backend ----------------------------------------------------

def _choose(mpl):
    """What ipykernel's MPLBACKEND and IPython's activate_matplotlib do,
    on the module matplotlib just ran: the user's MPLBACKEND (matplotlib
    read it) wins."""
    if os.environ.get("MPLBACKEND"):
        return
    mpl.rcParams["backend"] = BACKEND
    mpl.interactive(True)  # figures that pyplot makes are queued to show


class _Chooser:
    """A meta path finder that finds nothing itself: when matplotlib is
    imported it has the finder that finds it load it, then picks our
    backend. MPLBACKEND itself is not set (ipykernel sets it): a process a
    cell starts inherits the environment, and a python3 there has no
    _trellis_mpl to load, so its pyplot would fail to import."""

    busy = False

    def find_spec(self, name, path=None, target=None):
        if name != "matplotlib" or self.busy:
            return None
        self.busy = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.busy = False
        loader = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module):
            run(module)
            if module.__name__ == name:  # a loader may serve many
                _choose(module)
        # on the loader that found it, so __spec__ and __loader__ (which
        # importlib.resources reads) stay what they were
        loader.exec_module = exec_module
        return spec


def install():
    """Picks this backend for matplotlib when it is imported."""
    if not any(isinstance(f, _Chooser) for f in sys.meta_path):
        sys.meta_path.insert(0, _Chooser())


# ---- the backend (what pyplot calls) -------------------------------------------

def __getattr__(name):
    # the canvas class pyplot asks a backend for when it switches to it;
    # looked up only then, so importing it costs nothing before
    if name == "FigureCanvas":
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        globals()[name] = FigureCanvasAgg
        return FigureCanvasAgg
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def new_figure_manager(num, *args, FigureClass=None, **kwargs):
    if FigureClass is None:
        from matplotlib.figure import Figure as FigureClass
    return new_figure_manager_given_figure(num, FigureClass(*args, **kwargs))


def new_figure_manager_given_figure(num, figure):
    global _draw_called
    import matplotlib
    from matplotlib.backends import backend_agg
    manager = backend_agg.new_figure_manager_given_figure(num, figure)
    # after plt.ioff() figures wait for plt.show(), as matplotlib-inline
    if matplotlib.is_interactive():
        _draw_called = True
    return manager


def show(close=None, block=None):
    """plt.show(): every open figure, now, then closed (close=False keeps
    them open). block is accepted, as backends must."""
    global _draw_called
    from matplotlib._pylab_helpers import Gcf
    try:
        for manager in Gcf.get_all_fig_managers():
            fig = manager.canvas.figure
            tio.display(fig, metadata=_background(fig))
    finally:
        _draw_called = False
        if close is not False and Gcf.get_all_fig_managers():
            import matplotlib.pyplot as plt
            plt.close("all")


# ---- around a cell -----------------------------------------------------------

def flush():
    """A cell's end: the figures drawn since the last show, but for those
    the cell showed itself and left unchanged (matplotlib-inline shows
    those twice), then every figure closed, as matplotlib-inline's
    post_execute hook. Closed even when showing fails (or is interrupted),
    so no half-drawn figure reaches the next cell."""
    global _draw_called
    if not _draw_called:
        _shown.clear()
        return
    from matplotlib._pylab_helpers import Gcf
    try:
        for manager in Gcf.get_all_fig_managers():
            fig = manager.canvas.figure
            if fig not in _shown or fig.stale:
                tio.display(fig, metadata=_background(fig))
    finally:
        _draw_called = False
        _shown.clear()
        if Gcf.get_all_fig_managers():
            import matplotlib.pyplot as plt
            plt.close("all")


def after_cell(run_cell):
    """Wraps run_cell: its figures are flushed after it, also when it
    failed (as ipykernel shows them after an error or an interrupt). A
    figure that fails to draw is the cell's error, unless the cell had
    one, which stands."""
    def run(*args):
        _shown.clear()
        try:
            result = run_cell(*args)
        except BaseException:
            try:
                flush()
            except Exception as e:
                sys.stderr.write("The figures could not be shown: %s: %s\n"
                                 % (type(e).__name__, e))
            raise
        flush()
        return result
    run.__name__ = run_cell.__name__
    return run


# ---- rendering ---------------------------------------------------------------

def is_figure(obj):
    """obj is a matplotlib Figure (False, at no cost, when matplotlib has
    not been imported)."""
    mod = sys.modules.get("matplotlib.figure")
    return mod is not None and isinstance(obj, mod.Figure)


def _print(fig, fmt, dpi):
    """As IPython's print_figure: the figure's colours, tight bounds."""
    buf = io.BytesIO()
    fig.canvas.print_figure(buf, format=fmt, dpi=dpi,
                            facecolor=fig.get_facecolor(),
                            edgecolor=fig.get_edgecolor(),
                            bbox_inches="tight")
    return buf.getvalue()


def png_size(data):
    """(width, height) from a PNG's IHDR chunk."""
    return struct.unpack(">II", data[16:24])


def figure_bundle(fig):
    """fig's MIME bundle in the chosen formats, its repr as text/plain; an
    empty figure (no axes) is text only, as IPython has it. A retina PNG
    says the size to show it at, as IPython's does. The cell has shown fig
    as it is now."""
    _shown.add(fig)
    data, meta = {"text/plain": repr(fig)}, {}
    try:
        if fig.axes or fig.lines:
            _render(fig, data, meta)
    finally:
        # Drawing leaves the figure stale (printing puts its dpi and
        # colours back); marked fresh, any later change to it or its
        # artists makes it stale again, and flush shows it once more. One
        # that failed to draw is not tried again at the end of the cell.
        fig.stale = False
    return {"data": data, "metadata": meta}


def _render(fig, data, meta):
    if "retina" in _formats:
        png = _print(fig, "png", fig.dpi * 2)
        w, h = png_size(png)
        data["image/png"] = base64.b64encode(png).decode("ascii")
        meta["image/png"] = {"width": w // 2, "height": h // 2}
    elif "png" in _formats:
        png = _print(fig, "png", fig.dpi)
        data["image/png"] = base64.b64encode(png).decode("ascii")
    if "svg" in _formats:
        data["image/svg+xml"] = _print(fig, "svg", fig.dpi).decode("utf-8")


def _background(fig):
    """matplotlib-inline's metadata: a transparent figure whose tick
    labels are all light (or all dark) needs a dark (light) background."""
    from matplotlib import colors
    if colors.to_rgba(fig.get_facecolor())[3] >= 0.5:
        return None
    labels = [label.get_color() for axes in fig.axes
              for axis in (axes.xaxis, axes.yaxis)
              for label in axis.get_ticklabels()]
    if not labels:
        return None
    light = colors.to_rgba_array(labels)[:, :3].dot((.299, .587, .114)) > .5
    if (light == light[0]).all():
        return {"needs_background": "dark" if light[0] else "light"}
    return None


def set_figure_formats(*formats):
    """Chooses the formats figures are shown in: "png" (the default),
    "retina" (PNG at twice the resolution, shown at the same size; also
    "png2x") and "svg", any of them, as IPython's set_matplotlib_formats.
    Returns the formats now chosen (with no argument it changes nothing).
    An unknown format is a ValueError and changes nothing."""
    global _formats
    if not formats:
        return _formats
    chosen = set()
    for f in formats:
        if not isinstance(f, str):
            raise TypeError("a figure format is a string such as 'svg', "
                            "not %s" % type(f).__name__)
        if f.lower() not in _ALIASES:
            raise ValueError("unknown figure format %r: the formats are "
                             "'png', 'retina' (or 'png2x') and 'svg'" % f)
        chosen.add(_ALIASES[f.lower()])
    _formats = tuple(f for f in ("png", "retina", "svg") if f in chosen)
    return _formats
