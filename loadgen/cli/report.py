"""loadgen report (placeholder: owned by the helper building it)."""


def report() -> None:
    """Summarise invoker results."""
    raise NotImplementedError
