"""The package boundaries: loadcore is shared, invoker (worker) never imports loadgen (master),
and in loadgen only the pipeline imports the invoker library."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_packages(path: Path) -> set[str]:
    """Top-level packages a module imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_loadcore_imports_neither_side():
    offenders = {str(p.relative_to(ROOT)) for p in modules("loadcore") if imported_packages(p) & {"loadgen", "invoker"}}
    assert not offenders


def test_the_worker_side_never_imports_the_master_side():
    offenders = {str(p.relative_to(ROOT)) for p in modules("invoker") if "loadgen" in imported_packages(p)}
    assert not offenders


def test_only_the_pipeline_uses_the_invoker_library_on_the_master_side():
    users = {str(p.relative_to(ROOT)) for p in modules("loadgen") if "invoker" in imported_packages(p)}
    assert users == {"loadgen/pipeline.py"}


def test_a_processes_child_imports_no_pandas():
    """What a `--processes` child imports (its entry point and the pickled schedule and target)
    must not pull in pandas, which would add a second to every child's start."""
    probe = ("import sys, invoker.processes, invoker.dispatch, invoker.schedule, invoker.protocols; "
             "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib', 'loadgen') if m in sys.modules))")
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert imported.stdout.strip() == "[]"


def test_each_package_declares_every_module_as_its_public_api():
    import invoker
    import loadcore
    import loadgen

    for package in (loadcore, loadgen, invoker):
        folder = Path(package.__file__).parent
        present = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
        present |= {p.parent.name for p in folder.glob("*/__init__.py") if p.parent.name not in ("cli", "_data")}
        assert set(package.__all__) == present, package.__name__


def test_commands_start_without_matplotlib():
    """matplotlib costs half a second to import; only commands that draw may pay for it."""
    probe = "import sys, loadgen.cli, invoker.cli; print('matplotlib' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert imported.stdout.strip() == "False"
