"""invoker replay (placeholder: owned by the helper building it)."""


def replay() -> None:
    """Replay load.json open-loop."""
    raise NotImplementedError
