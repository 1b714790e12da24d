"""``python -m plainnet experiments``: run experiments, print them, write the report."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from .. import __version__, _progress
from . import get, names
from ._base import Result, jsonable

PLOTS_HINT = ('install matplotlib to get them: pip install "plainnet[plots]" '
              '(or pip install ".[plots]" from a source checkout)')


@dataclass
class SavedFigure:
    """A figure written to the report directory."""

    experiment: str
    file: str
    png: bytes = field(repr=False)


@dataclass
class Report:
    results: list[Result]
    figures: list[SavedFigure]
    seconds: dict[str, float]
    figures_skipped: Optional[str]
    out: Path


def _echo(text: str, out: Callable[[str], None]) -> None:
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    out(text.encode(encoding, errors="replace").decode(encoding, errors="replace"))


def matplotlib_missing() -> Optional[str]:
    """None when matplotlib can draw, else the reason it cannot."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError as exc:
        return str(exc) or "matplotlib is not installed"
    return None


def cli_progress(enabled: bool = True) -> Any:
    """The command line's progress bars: on stderr, only on a terminal, gone when done.

    False (no bar) when disabled or when tqdm is not installed: the command's
    output is the same with and without tqdm.
    """
    if not enabled or not _progress.tqdm_available():
        return False
    return {"disable": None, "leave": False}


def run_experiments(selected: Sequence[str], out_dir: Path, backend: str = "native",
                    printer: Callable[[str], None] = print, progress: Any = False,
                    options: Optional[dict[str, dict[str, Any]]] = None) -> Report:
    """Run ``selected`` in order, print each, and write PNGs, results.json and report.html.

    ``progress`` is passed to the experiments that show a bar (xor-reliability);
    ``options`` maps an experiment's name to more arguments for its ``compute``.
    """
    experiments = [get(n) for n in selected]
    out_dir.mkdir(parents=True, exist_ok=True)
    missing = matplotlib_missing()
    if missing is not None:
        _echo(f"note: figures are skipped ({missing}); {PLOTS_HINT}\n", printer)
    if backend == "numpy" and "xor-reliability" in selected:
        _echo(f"note: {numpy_estimate()}\n", printer)
    results: list[Result] = []
    figures: list[SavedFigure] = []
    seconds: dict[str, float] = {}
    for n, experiment in enumerate(experiments, 1):
        kwargs = dict((options or {}).get(experiment.name, {}))
        if experiment.shows_progress and progress is not False:
            kwargs["progress"] = progress
        start = time.perf_counter()
        result = experiment.compute(backend=backend, **kwargs)
        seconds[experiment.name] = time.perf_counter() - start
        results.append(result)
        _echo(f"[{n}/{len(experiments)}] {experiment.name}: {result.title}", printer)
        _echo(result.table, printer)
        _echo(f"  verdict: {result.verdict}", printer)
        if missing is None:
            for stem, fig in experiment.plot(result):
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=100)
                png = buf.getvalue()
                (out_dir / f"{stem}.png").write_bytes(png)
                figures.append(SavedFigure(experiment.name, f"{stem}.png", png))
                _echo(f"  figure: {out_dir / (stem + '.png')}", printer)
        _echo(f"  ({seconds[experiment.name]:.2f} s)\n", printer)
    report = Report(results, figures, seconds, missing, out_dir)
    write_json(report, backend)
    write_html(report, backend)
    claimed = sum(r.as_claimed for r in results)
    _echo(f"{claimed} of {len(results)} experiments came out as the tutorial says; "
          f"{sum(seconds.values()):.1f} s in total.", printer)
    _echo(f"wrote {out_dir / 'results.json'} and {out_dir / 'report.html'}"
          + (f" and {len(figures)} figures" if figures else
             f"; figures skipped: {PLOTS_HINT}" if missing else ""), printer)
    return report


def numpy_estimate() -> str:
    """How long xor-reliability will take in pure NumPy, from one short timed run."""
    from .xor_reliability import HIDDEN, ITERATIONS, LRS, SEEDS, solves

    start = time.perf_counter()
    solves(4, 2.0, 0, 1000, "numpy")
    per_run = (time.perf_counter() - start) * ITERATIONS / 1000
    runs = len(HIDDEN) * len(LRS) * SEEDS
    return (f"with --backend numpy, xor-reliability trains {runs:,} networks in pure NumPy at "
            f"about {per_run:.2f} s each: expect up to {runs * per_run / 60:.0f} minutes (the native "
            f"backend takes seconds)")


def write_json(report: Report, backend: str) -> Path:
    doc: dict[str, Any] = {
        "plainnet": __version__, "backend": backend, "python": platform.python_version(),
        "figures_skipped": report.figures_skipped,
        "experiments": {
            r.name: {"title": r.title, "verdict": r.verdict, "as_claimed": r.as_claimed,
                     "seconds": report.seconds[r.name],
                     "figures": [f.file for f in report.figures if f.experiment == r.name],
                     "data": jsonable(r.data)}
            for r in report.results}}
    path = report.out / "results.json"
    tmp = path.with_name(f".results.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, separators=(",", ":"), allow_nan=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
pre { background: #f6f6f4; padding: .8rem; overflow-x: auto; font-size: .85rem; }
.verdict { padding: .5rem .8rem; border-left: 4px solid #3a7; background: #f0faf4; }
.verdict.off { border-color: #c53; background: #fdf1ee; }
img { max-width: 100%; display: block; margin: .8rem 0; }
section { border-top: 1px solid #ddd; margin-top: 2rem; }
"""


def write_html(report: Report, backend: str) -> Path:
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>plainnet: the tutorial as experiments</title>",
             f"<style>{_CSS}</style></head><body>",
             "<h1>The tutorial as experiments</h1>",
             f"<p>plainnet {e(__version__)}, backend <code>{e(backend)}</code>, "
             f"{len(report.results)} experiments, {sum(report.seconds.values()):.1f} s.</p>"]
    if report.figures_skipped:
        parts.append(f"<p><strong>Figures were skipped</strong> ({e(report.figures_skipped)}); "
                     f"{e(PLOTS_HINT)}.</p>")
    parts.append("<ol>" + "".join(f'<li><a href="#{e(r.name)}">{e(r.title)}</a></li>'
                                  for r in report.results) + "</ol>")
    for r in report.results:
        parts.append(f'<section id="{e(r.name)}"><h2>{e(r.title)}</h2>'
                     f"<p><code>--only {e(r.name)}</code></p>")
        for note in r.notes:
            parts.append(f"<p>{e(note)}</p>")
        for f in (f for f in report.figures if f.experiment == r.name):
            data = base64.b64encode(f.png).decode("ascii")
            parts.append(f'<img src="data:image/png;base64,{data}" alt="{e(f.file)}" '
                         f'title="{e(f.file)}">')
        parts.append(f"<pre>{e(r.table)}</pre>")
        cls = "verdict" if r.as_claimed else "verdict off"
        parts.append(f'<p class="{cls}"><strong>Verdict:</strong> {e(r.verdict)}</p></section>')
    parts.append("</body></html>")
    path = report.out / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def add_arguments(parser: Any, backends: Sequence[str]) -> None:
    parser.add_argument("--out", default="plainnet-report", metavar="DIR",
                        help="where figures, results.json and report.html go "
                             "(default plainnet-report/)")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=names(),
                        help="run only these experiments (see --list)")
    parser.add_argument("--backend", choices=backends, default="native",
                        help="native (default, C++) or numpy (pure NumPy, much slower)")
    parser.add_argument("--list", action="store_true", help="name the experiments and exit")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar for the long experiments (shown on a terminal "
                             "when tqdm is installed: pip install \"plainnet[progress]\")")


def from_args(args: Any) -> int:
    if args.list:
        for name in names():
            print(f"{name:<24} {get(name).summary.split(': ', 1)[-1]}")
        return 0
    selected = names() if not args.only else [n for n in names() if n in set(args.only)]
    run_experiments(selected, Path(args.out), backend=args.backend,
                    progress=cli_progress(not args.no_progress))
    return 0
