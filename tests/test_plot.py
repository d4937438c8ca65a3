"""`loadgen plot`: the trace/proxy/mapping figures exist, are valid images, and bad input is one line."""

import numpy as np
import pytest
from typer.testing import CliRunner

from loadcore import shipped
from loadgen.cli import app
from loadcore.mappingfile import write_mapping
from loadgen.mapping import build_mapping
from loadgen.plot import FIGURES, log_decade_edges, plot_all
from loadcore.profiles import read_profiles
from loadgen.traces import read_trace

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<?xml"}


def run(*args):
    return CliRunner().invoke(app, ["plot", *map(str, args)])


def assert_figures(directory, file_format):
    names = sorted(path.name for path in directory.iterdir())
    assert names == sorted(f"{name}.{file_format}" for name in FIGURES)
    for name in names:
        assert (directory / name).read_bytes().startswith(MAGIC[file_format]), name


def test_log_decade_edges_have_nine_linear_bins_per_decade():
    edges = log_decade_edges(np.array([0.05, 3.0, 250.0]))
    assert edges[0] == pytest.approx(0.01) and edges[-1] == pytest.approx(1000)
    assert len(edges) == 5 * 9 + 1
    assert edges[:10] == pytest.approx([0.01 * i for i in range(1, 10)] + [0.1])
    assert log_decade_edges(np.array([100.0]))[[0, -1]] == pytest.approx([100, 1000])


def test_cli_plots_shipped_trace_and_profiles_as_png(tmp_path):
    result = run("--output-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert "wrote 8 figures" in result.output
    assert_figures(tmp_path, "png")


def test_cli_plots_a_given_mapping_as_pdf(tmp_path):
    mapping = tmp_path / "mapping.csv"
    trace, profiles = read_trace(shipped.trace_dir()), read_profiles(shipped.default_profile())
    write_mapping(build_mapping(trace, profiles, percentile=50), mapping)
    out = tmp_path / "plots"
    result = run("--mapping", mapping, "--percentile", "50", "--output-dir", out, "--format", "pdf")
    assert result.exit_code == 0, result.output
    assert_figures(out, "pdf")


def test_library_writes_svg(tmp_path):
    trace, profiles = read_trace(shipped.trace_dir()), read_profiles(shipped.default_profile())
    written = plot_all(trace, profiles, build_mapping(trace, profiles), 75, tmp_path, "svg")
    assert [path.stem for path in written] == list(FIGURES)
    assert_figures(tmp_path, "svg")


def test_bad_inputs_are_one_line_errors(tmp_path):
    result = run("--trace", tmp_path / "missing", "--output-dir", tmp_path)
    assert result.exit_code == 2
    assert "trace folder not found" in result.output
    broken = tmp_path / "mapping.csv"
    broken.write_text("HashOwner,proxy\no,p\n")
    result = run("--mapping", broken, "--output-dir", tmp_path / "plots")
    assert result.exit_code == 2
    assert f"{broken}: missing column" in result.output
    assert "Traceback" not in result.output


def test_the_mapping_figures_draw_synthetic_functions_apart(tmp_path):
    """A synthetic function's proxy columns name a proxy it did not get: not counted as mapped."""
    import matplotlib

    trace, profiles = read_trace(shipped.trace_dir()), read_profiles(shipped.default_profile())
    mapping = build_mapping(trace, profiles)
    synthetic = int((mapping["kind"] == "synthetic").sum())
    mapped = mapping[mapping["kind"] == "proxy"]
    assert 0 < synthetic < len(mapping)
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text in the SVG
        plot_all(trace, profiles, mapping, 75, tmp_path, "svg")
    distance = (tmp_path / "mapping-distance.svg").read_text()
    assert f"{len(mapped)} mapped to {mapped['proxy'].nunique()} proxies, {synthetic} synthetic" in distance
    assert f"mapped median {np.median(mapped['distance']):.2f}" in distance
    error = (tmp_path / "mapping-error.svg").read_text()
    assert "synthetic function (its closest proxy, not used)" in error
    assert "mapped within 2× on both" in error and f" of {len(mapped)} mapped" in error
