"""loadgen plot (placeholder: owned by the helper building it)."""


def plot() -> None:
    """Plot trace and proxy histograms."""
    raise NotImplementedError
