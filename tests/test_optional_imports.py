"""The integrations imported without their framework name the extra to install, as the
embedded engine and msgpack do, instead of a bare ``No module named 'django'``.

Each check runs in a fresh interpreter whose import system refuses the framework (a
``sys.meta_path`` finder placed first raises ModuleNotFoundError for it, as when it is not
installed), so the test does not depend on what this environment has installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import sys

class NotInstalled:
    '''Refuses the named top-level packages (and their submodules).'''

    def __init__(self, names):
        self.names = names

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled(set(sys.argv[1].split(","))))
try:
    __import__(sys.argv[2])
except ModuleNotFoundError as exc:
    print(f"ModuleNotFoundError name={exc.name}")
    print(exc)
else:
    print("imported")
"""


def probe(module: str, hidden: str, tmp_path: Path) -> list[str]:
    env = {
        "PATH": os.defpath,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "core"), str(ROOT / "integrations")]),
    }
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, hidden, module],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()


@pytest.mark.parametrize(
    ("module", "framework", "extra", "requirement"),
    [
        ("django_walrus", "django", "django", "Django>=4.2"),
        ("django_walrus.cache", "django", "django", "Django>=4.2"),
        ("django_walrus.ratelimit", "django", "django", "Django>=4.2"),
        ("django_walrus.throttling", "rest_framework", "drf", "djangorestframework>=3.14"),
        ("flask_walrus", "flask", "flask", "Flask>=2.3"),
        ("celery_walrus", "celery", "celery", "celery>=5.3"),
    ],
)
def test_missing_framework_names_the_extra(
    module: str, framework: str, extra: str, requirement: str, tmp_path: Path
) -> None:
    lines = probe(module, framework, tmp_path)
    assert lines[0] == f"ModuleNotFoundError name={framework}", lines
    message = lines[1]
    package = module.partition(".")[0]
    assert message.startswith((f"{package} needs ", f"{module} needs ")), message
    assert f"pip install '.[{extra}]'" in message and f"pip install '{requirement}'" in message, (
        message
    )


def test_requirements_in_the_hints_match_pyproject() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    for requirement in ("Django>=4.2", "Flask>=2.3", "celery>=5.3", "djangorestframework>=3.14"):
        assert f'"{requirement}"' in text, requirement


@pytest.mark.parametrize(
    ("module", "hidden"),
    [
        ("celery_walrus", "django,flask"),
        ("flask_walrus", "django,celery"),
        ("walrus", "django,flask,celery"),
    ],
)
def test_each_integration_needs_only_its_own_framework(
    module: str, hidden: str, tmp_path: Path
) -> None:
    assert probe(module, hidden, tmp_path) == ["imported"]
