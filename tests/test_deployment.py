"""Production settings, the compose file, and the README's run command on a fresh checkout."""

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "setset.settings.production",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
    "DJANGO_ALLOWED_HOSTS": "outcomes.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def _clean_env(**extra: str) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(extra)
    return env


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    env = _clean_env(**{k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"})
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_passes_the_deployment_checks():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", env=_clean_env(**PRODUCTION_ENV)
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_demo_accounts():
    code = (
        "import django; django.setup();"
        "from strategy.services import demo_accounts_ensure; demo_accounts_ensure()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=_clean_env(**PRODUCTION_ENV),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Demo accounts are not allowed" in result.stderr


def test_compose_file_is_valid_syntax():
    """Validates syntax and references only: there is no Docker engine here to run it."""
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    result = subprocess.run(
        [str(binary), "-f", str(BASE_DIR / "docker-compose.yml"), "config", "--services"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_clean_env(DJANGO_SECRET_KEY="x", POSTGRES_PASSWORD="x"),
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"db", "redis", "web", "worker", "beat"}


def test_the_example_environment_file_is_all_the_compose_file_needs():
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    result = subprocess.run(
        [
            str(binary),
            "-f",
            str(BASE_DIR / "docker-compose.yml"),
            "--env-file",
            str(BASE_DIR / ".env.example"),
            "config",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=_clean_env(),
    )
    assert result.returncode == 0, result.stderr
    assert "DJANGO_SECRET_KEY: change-me-to-50-or-more-random-characters" in result.stdout
    assert "SETSET_LOG_FORMAT: json" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


INTERNAL_PAGES = (
    "/returns/",
    "/board/",
    "/tracker/",
    "/completeness/",
    "/releases/new/",
    "/imports/",
    "/kpis/",
    "/audit/",
)


def _internal_pages_answer(base: str) -> dict[str, int]:
    """Log in as the demo group member and fetch the internal pages: those not answering 200."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token,
            "username": "sig",
            "password": "demo-sig-set2023",
        }
    ).encode()
    request = urllib.request.Request(
        f"{base}/accounts/login/", data=data, headers={"Referer": f"{base}/accounts/login/"}
    )
    opener.open(request, timeout=30)
    failures = {}
    for path in INTERNAL_PAGES:
        try:
            opener.open(f"{base}{path}", timeout=60).read()
        except urllib.error.HTTPError as error:
            failures[path] = error.code
    return failures


@pytest.mark.slow
def test_readme_run_command_serves_the_strategy_with_no_configuration(tmp_path):
    # A fresh checkout of the tracked files; the virtual environment is reused (VENV=...) so
    # the test does not reinstall every package, but everything else happens as on a new clone.
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    checkout = tmp_path / "checkout"
    for name in files:
        source = BASE_DIR / name
        if source.is_file():
            target = checkout / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    port = _free_port()
    venv = Path(sys.executable).parent.parent
    env = _clean_env(PORT=str(port), VENV=str(venv))
    process = subprocess.Popen(
        ["make", "run", f"VENV={venv}", f"PORT={port}"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        body = ""
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    body = response.read().decode()
                    break
            except urllib.error.HTTPError as error:
                pytest.fail(f"/ answered {error.code}")
            except OSError:
                time.sleep(1)
        assert "Southend, Essex and Thurrock Mental Health Strategy 2023-28" in body
        assert (checkout / "var" / "setset.sqlite3").exists()
        # The embedded database serves the internal pages too (no PostgreSQL-only SQL).
        assert _internal_pages_answer(f"http://127.0.0.1:{port}") == {}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            output = process.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            # The worker's warm shutdown waits for a running demo task; serving was the test.
            os.killpg(process.pid, signal.SIGKILL)
            output = process.communicate(timeout=30)[0]
    assert "placelead" in output, output
