"""loadgen run (placeholder: owned by the helper building it)."""


def run() -> None:
    """Generate, deploy, invoke and summarise in one command."""
    raise NotImplementedError
