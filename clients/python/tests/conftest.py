from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from service import TestService, binary


@pytest.fixture(scope="module")
def service() -> Iterator[TestService]:
    if not binary().exists():
        pytest.skip(f"{binary()} is missing: build it (cargo build -p cs-app)")
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is missing (the simulated cameras need it)")
    s = TestService()
    try:
        yield s
    finally:
        s.dispose()
