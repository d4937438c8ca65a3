"""loadgen deploy (placeholder: owned by the helper building it)."""


def teardown() -> None:
    """Delete what loadgen deployed."""
    raise NotImplementedError
