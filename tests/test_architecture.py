"""The layers hold (import-linter's contracts in pyproject.toml), and a violation fails them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("setset", "strategy", "kpis", "reporting")


def lint(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(directory), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def project_copy(tmp_path):
    """The project's packages and contracts, copied so a violation can be written into them."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("static", "*.pyc")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold_for_the_project():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout
    assert "Contracts: 6 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "violation", "broken"),
    [
        # A selector reaching up into the services layer.
        ("kpis/selectors/audit.py", "from kpis.services import audit", "kpis: entry points"),
        # A pure module using the ORM.
        ("kpis/periods.py", "from kpis import models", "Pure modules"),
        # The strategy app depending on the KPI app.
        ("strategy/selectors.py", "import kpis.models", "Apps import one way"),
        # Pages reaching the bulk loader instead of a service.
        ("reporting/views/public.py", "import kpis.bulk.copy", "reporting never reaches"),
    ],
)
def test_a_deliberate_violation_breaks_a_contract(project_copy, module, violation, broken):
    path = project_copy / module
    path.write_text(path.read_text() + f"\n{violation}  # noqa\n")
    result = lint(project_copy)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout.split("Broken contracts")[1]
