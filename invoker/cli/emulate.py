"""invoker emulate (placeholder: owned by the helper building it)."""


def emulate() -> None:
    """Serve emulated proxy functions over gRPC."""
    raise NotImplementedError
