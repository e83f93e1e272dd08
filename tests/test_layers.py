"""The floors of STYLE.md hold: the import-linter contracts in pyproject.toml are kept. This
is the check `make lint` runs (`lint-imports`), so a broken floor also fails the test suite;
on failure the captured output names each illegal import."""

from pathlib import Path

from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_kept() -> None:
    assert (
        lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == EXIT_STATUS_SUCCESS
    )
