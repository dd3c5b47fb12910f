"""Add up the JUnit XML reports of the three suites into one closing line.

The last line, `total: N passed, N failed`, is what CI reads; a missing
report counts as a failure, so a suite that did not run cannot pass silently.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

NAMES = {"pytest": "Python (pytest)", "jest": "frontend (jest)", "junit": "browser (Galata)"}


def counts(path: Path) -> tuple[int, int, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = failures = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failures += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return tests - failures - skipped, failures, skipped


def main(paths: list[str]) -> int:
    total_passed = total_failed = total_skipped = 0
    for raw in paths:
        path = Path(raw)
        label = next((v for k, v in NAMES.items() if k in path.name), path.name)
        if not path.is_file():
            print(f"{label:<18} no report at {path}: counted as failed")
            total_failed += 1
            continue
        passed, failed, skipped = counts(path)
        print(f"{label:<18} {passed} passed, {failed} failed, {skipped} skipped")
        total_passed += passed
        total_failed += failed
        total_skipped += skipped
    print(f"total: {total_passed} passed, {total_failed} failed, {total_skipped} skipped")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
