"""Per-minute 1-D Wasserstein distances between a sample's and a full trace's per-function values.

For one minute, the distance between the n values of a sample and the N values of the full
trace is W1 = ∫₀¹ |Qₛ(p) − Q(p)| dp, Q being the quantile functions of the two empirical
distributions (each value weighted 1/n or 1/N): `scipy.stats.wasserstein_distance` of the
two value lists.  scipy sorts both lists each time; a sampler measures thousands of samples
against one reference, so `Reference` sorts the full trace once and keeps the running
integral G(p) = ∫₀ᵖ Q.  On the sample's step [i/n, (i+1)/n] of value v, with c the point in
it where Q crosses v,

    ∫ |v − Q| = v·(2c − a − b) + G(a) + G(b) − 2·G(c),

exact, at a cost of O(n log N) per minute instead of O((n + N) log(n + N)).
"""

import numpy as np


class Reference:
    """The full trace's values per minute ([functions, minutes]), ready to measure samples."""

    def __init__(self, values: np.ndarray):
        self.size = values.shape[0]
        self.sorted = np.ascontiguousarray(np.sort(values.astype(np.float64), axis=0).T)
        integral = np.cumsum(self.sorted, axis=1) / self.size
        self.integral = np.concatenate([np.zeros((self.sorted.shape[0], 1)), integral], axis=1)
        self._grids: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _grid(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """p = i/n for i = 0 ... n as (index s of the reference step, G(i/n)) per minute."""
        if n not in self._grids:
            i = np.arange(n + 1)
            k = i * self.size // n
            value = self.sorted[:, np.minimum(k, self.size - 1)]
            self._grids[n] = (k, self.integral[:, k] + (i / n - k / self.size) * value)
        return self._grids[n]

    def distances(self, values: np.ndarray) -> np.ndarray:
        """W1 per minute between `values` ([n functions, minutes]) and the reference."""
        n = values.shape[0]
        grid_k, grid_g = self._grid(n)
        v = np.sort(values.astype(np.float64), axis=0).T
        s = np.empty(v.shape, dtype=np.int64)
        for minute in range(v.shape[0]):
            s[minute] = np.searchsorted(self.sorted[minute], v[minute], side="left")
        i = np.arange(n)
        a, b = i / n, (i + 1) / n
        before = s * n < i * self.size  # the crossing lies left of the step: c = a
        after = s * n > (i + 1) * self.size  # right of it: c = b
        g_a, g_b = grid_g[:, :-1], grid_g[:, 1:]
        g_s = np.take_along_axis(self.integral, s, axis=1)
        c = np.where(before, a, np.where(after, b, s / self.size))
        g_c = np.where(before, g_a, np.where(after, g_b, g_s))
        return (v * (2 * c - a - b) + g_a + g_b - 2 * g_c).sum(axis=1)
