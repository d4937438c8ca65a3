"""Per-minute 1-D Wasserstein distances between a sample's and a full trace's per-function values.

For one minute, the distance between the n values of a sample and the N values of the full
trace is W1 = ∫₀¹ |Qₛ(p) − Q(p)| dp, Q being the quantile functions of the two empirical
distributions (each value weighted 1/n or 1/N): `scipy.stats.wasserstein_distance` of the
two value lists.  scipy sorts both lists each time; a sampler measures thousands of samples
against one reference, so `Reference` sorts the full trace once and keeps the running
integral G(p) = ∫₀ᵖ Q.  On the sample's step [i/n, (i+1)/n] of value v, with c the point in
it where Q crosses v,

    ∫ |v − Q| = v·(2c − a − b) + G(a) + G(b) − 2·G(c),

exact.  A sample is a set of rows of the full trace, so where each row's value falls in the
sorted reference (the step index s of c) is computed once for every row and minute; measuring
a sample of n rows then costs two sorts of n values per minute, not O((n + N) log(n + N)).
"""

import numpy as np


class Reference:
    """The full trace's values per minute ([functions, minutes]), ready to measure samples of its rows."""

    def __init__(self, values: np.ndarray):
        self.values = values.astype(np.float64)
        self.size, minutes = values.shape
        self.sorted = np.ascontiguousarray(np.sort(self.values, axis=0).T)
        integral = np.cumsum(self.sorted, axis=1) / self.size
        self.integral = np.concatenate([np.zeros((minutes, 1)), integral], axis=1)
        self.steps = np.empty((self.size, minutes), dtype=np.int64)
        for minute in range(minutes):
            self.steps[:, minute] = np.searchsorted(self.sorted[minute], self.values[:, minute], side="left")
        self._row_starts = (np.arange(minutes) * (self.size + 1))[:, None]
        self._grids: dict[int, np.ndarray] = {}

    def _grid(self, n: int) -> np.ndarray:
        """G(i/n) for i = 0 ... n, per minute."""
        if n not in self._grids:
            i = np.arange(n + 1)
            k = i * self.size // n
            self._grids[n] = self.integral[:, k] + (i / n - k / self.size) * self.sorted[:, np.minimum(k, self.size - 1)]
        return self._grids[n]

    def distances(self, rows: np.ndarray) -> np.ndarray:
        """W1 per minute between the rows `rows` of the reference and the whole of it."""
        n = len(rows)
        grid = self._grid(n)
        v = np.sort(self.values[rows], axis=0).T
        s = np.sort(self.steps[rows], axis=0).T  # s grows with v, so sorting each alone keeps them paired
        i = np.arange(n)
        a, b = i / n, (i + 1) / n
        before = s * n < i * self.size  # the crossing lies left of the step: c = a
        after = s * n > (i + 1) * self.size  # right of it: c = b
        g_a, g_b = grid[:, :-1], grid[:, 1:]
        g_s = self.integral.ravel()[s + self._row_starts]
        c = np.where(before, a, np.where(after, b, s / self.size))
        g_c = np.where(before, g_a, np.where(after, g_b, g_s))
        return (v * (2 * c - a - b) + g_a + g_b - 2 * g_c).sum(axis=1)
