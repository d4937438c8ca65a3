"""HDR histograms of µs values, recorded and merged a whole array at a time.

Built on the `hdrhistogram` package. Recording one value at a time through its API costs
~1 µs, too much for the invoker's event loop and for `loadgen report` over millions of rows,
so this module records whole numpy arrays into the histogram's counters itself, with the
package's own bucket formula. That uses the package's internals (its counts array and bucket
geometry); they are used here and nowhere else, and `check()` verifies them, naming the
installed version, before a command relies on them.

Values are µs from 1 µs to 24 h; a negative value (a call sent before its due time) counts
as 0 and a value beyond 24 h as 24 h, so no call is ever left out of a count. The exact
minimum and maximum are kept.
"""

from importlib.metadata import version

import numpy as np
from hdrh.histogram import HdrHistogram

from loadcore.errors import DependencyError

HIGHEST_TRACKABLE_US = 24 * 3600 * 1_000_000
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99.9": 99.9, "p99.99": 99.99}
"""Percentile labels of every distribution, in print order (and "max", exact, after them)."""
LABELS = (*PERCENTILES, "max")
_INTERNALS = ("counts", "counts_len", "sub_bucket_mask", "unit_magnitude", "sub_bucket_half_count_magnitude",
              "sub_bucket_half_count", "total_count", "min_value", "max_value")


def new_histogram(significant_figures: int = 3) -> HdrHistogram:
    """An empty histogram of µs values from 1 µs to 24 h."""
    return HdrHistogram(1, HIGHEST_TRACKABLE_US, significant_figures)


def _counts(histogram: HdrHistogram) -> np.ndarray:
    """The histogram's counters as a writable numpy view (no copy)."""
    return np.ctypeslib.as_array(histogram.counts)


def _indexes(histogram: HdrHistogram, values: np.ndarray) -> np.ndarray:
    """The counter index of each value (clipped to the range): HdrHistogram's own formula
    (`HdrHistogram._counts_index_for`) for a whole array. The bit length of `value |
    sub_bucket_mask` gives the bucket, the value shifted by the bucket's magnitude the sub-bucket."""
    h = histogram
    bit_length = np.frexp((values | h.sub_bucket_mask).astype(np.float64))[1].astype(np.int64)
    bucket = bit_length - h.unit_magnitude - (h.sub_bucket_half_count_magnitude + 1)
    sub_bucket = values >> (bucket + h.unit_magnitude)
    return ((bucket + 1) << h.sub_bucket_half_count_magnitude) + sub_bucket - h.sub_bucket_half_count


def _clipped(values) -> np.ndarray:
    return np.clip(np.asarray(values, dtype=np.int64), 0, HIGHEST_TRACKABLE_US)


def _add(histogram: HdrHistogram, counts: np.ndarray, size: int, minimum: int, maximum: int) -> None:
    own = _counts(histogram)
    own += counts.astype(own.dtype)
    histogram.total_count += size
    histogram.min_value = min(histogram.min_value, minimum)
    histogram.max_value = max(histogram.max_value, maximum)


def record_values(histogram: HdrHistogram, values) -> None:
    """Record many integer µs values at once."""
    values = _clipped(values)
    if values.size:
        counts = np.bincount(_indexes(histogram, values), minlength=histogram.counts_len)
        _add(histogram, counts, int(values.size), int(values.min()), int(values.max()))


GROUPED_CELLS = 1 << 22
"""Counters of several histograms counted in one pass (`record_grouped`): 32 MB."""


def record_grouped(histograms: list[HdrHistogram], starts: np.ndarray, values) -> None:
    """Record segment k of `values` (from `starts[k]` to the next start or the end, none empty)
    into `histograms[k]`, which all have the same settings: one pass over the values for many
    histograms (a results file's functions, units, ...) instead of one per histogram."""
    values = _clipped(values)
    if not histograms:
        return
    first = histograms[0]
    starts = np.asarray(starts, dtype=np.int64)
    sizes = np.diff(np.append(starts, values.size))
    minima, maxima = np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)
    cells = (np.repeat(np.arange(len(histograms)), sizes) * first.counts_len) + _indexes(first, values)
    per_block = max(1, GROUPED_CELLS // first.counts_len)
    for block in range(0, len(histograms), per_block):
        end = min(block + per_block, len(histograms))
        low, high = starts[block], starts[end] if end < len(starts) else values.size
        table = np.bincount(cells[low:high] - block * first.counts_len, minlength=(end - block) * first.counts_len)
        for k, counts in enumerate(table.reshape(end - block, first.counts_len), start=block):
            _add(histograms[k], counts, int(sizes[k]), int(minima[k]), int(maxima[k]))


def merge_histogram(into: HdrHistogram, other: HdrHistogram) -> None:
    """Add `other`'s counts to `into` (same settings), keeping the exact min and max."""
    counts = _counts(into)
    counts += _counts(other)
    into.total_count += other.total_count
    into.min_value = min(into.min_value, other.min_value)
    into.max_value = max(into.max_value, other.max_value)


def percentiles(histogram: HdrHistogram) -> dict[str, int | None]:
    """`PERCENTILES` plus the exact max, in µs; None for each when nothing was recorded.

    A percentile is the highest value equivalent to the bucket holding the
    ⌊p·n/100 + ½⌋-th value (HdrHistogram's definition), capped at the exact max.
    """
    total = histogram.total_count
    if total == 0:
        return dict.fromkeys(LABELS)
    cumulative = np.cumsum(_counts(histogram))
    result = {}
    for label, percentile in PERCENTILES.items():
        target = max(int(percentile * total / 100 + 0.5), 1)
        index = int(np.searchsorted(cumulative, target, side="left"))
        value = histogram.get_highest_equivalent_value(histogram.get_value_from_index(index))
        result[label] = min(value, histogram.max_value)
    result["max"] = histogram.max_value
    return result


def cdf(histogram: HdrHistogram) -> tuple[np.ndarray, np.ndarray]:
    """(value µs, fraction of values ≤ it) at every non-empty bucket, for CDF plots."""
    counts = _counts(histogram)
    nonzero = np.flatnonzero(counts)
    values = np.array(
        [min(histogram.get_highest_equivalent_value(histogram.get_value_from_index(int(i))),
             histogram.max_value) for i in nonzero],
        dtype=np.int64,
    )
    fractions = np.cumsum(counts[nonzero]) / max(histogram.total_count, 1)
    return values, fractions


def check() -> None:
    """Verify the hdrhistogram internals `record_values` relies on, or raise `DependencyError`.

    Records a spread of values both ways and compares the counters with the package's own.
    """
    installed = version("hdrhistogram")
    for significant_figures in (2, 3):
        ours, reference = new_histogram(significant_figures), new_histogram(significant_figures)
        missing = [name for name in _INTERNALS if not hasattr(ours, name)]
        if missing:
            raise DependencyError(f"hdrhistogram {installed} lacks {', '.join(missing)}, which loadcore.histogram "
                                  f"records into; install the version pyproject.toml names")
        values = [0, 1, 2, 1000, 2047, 2048, 123_456_789, HIGHEST_TRACKABLE_US]
        record_values(ours, values)
        for value in values:
            reference.record_value(value)
        if list(ours.counts) != list(reference.counts):
            raise DependencyError(f"hdrhistogram {installed} buckets values differently from what "
                                  f"loadcore.histogram computes; install the version pyproject.toml names")
