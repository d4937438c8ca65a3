"""Headless matplotlib figures shared by `loadgen report` and `loadgen plot`: one style, one
way of saving (`FORMATS`), so every figure of the toolkit reads alike."""

from pathlib import Path

from loadcore.files import output_error, output_folder

FORMATS = ("png", "svg", "pdf")
DPI = 150
STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 9,
}


def _pyplot():
    """matplotlib's pyplot on the headless Agg backend, imported on first use: it costs half a
    second, which every `loadgen` command would otherwise pay at start-up."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def new_figure(width: float = 7.0, height: float = 4.5, rows: int = 1, columns: int = 1, sharex: bool = False):
    """A figure and its axes (an array of them for a grid, sharing x if `sharex`) in the toolkit's style."""
    plt = _pyplot()
    plt.rcParams.update(STYLE)
    return plt.subplots(rows, columns, figsize=(width, height), layout="constrained", sharex=sharex)


def save(figure, out_dir: Path, name: str, file_format: str) -> Path:
    """Write `<out_dir>/<name>.<format>` and free the figure."""
    path = output_folder(out_dir) / f"{name}.{file_format}"
    try:
        figure.savefig(path, format=file_format, dpi=DPI)
    except OSError as error:
        raise output_error(path, error) from None
    finally:
        _pyplot().close(figure)
    return path
