"""The member paths against a custom user model (tests/custom_user: UUID pk, e-mail login, no
``get_full_name``). One settings module per test process, so they run in a pytest subprocess
with tests/settings_custom_user.py: the dedicated tests of tests/custom_user/member_paths.py and
the existing files that exercise members over REST, sockets, merges and the admin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MEMBER_PATHS = [
    "tests/custom_user/member_paths.py",
    "tests/test_merge.py",
    "tests/test_realtime.py",
    "tests/test_authz_matrix.py",
    "tests/test_api_visibility.py",
    "tests/test_admin.py",
]


@pytest.mark.slow
def test_member_paths_pass_with_a_custom_user_model():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--ds=tests.settings_custom_user",
            "-m",
            "not browser",
            *MEMBER_PATHS,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout, result.stdout[-2000:]
