"""loadgen generate (placeholder: owned by the helper building it)."""


def generate() -> None:
    """Map trace functions to proxies and write load.json."""
    raise NotImplementedError
