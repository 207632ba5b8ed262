"""Run-wide settings, read once from the environment.

``CS231N_FAST=1``
    Fast mode: notebooks work on a small slice of the data so the whole notebook runs in
    seconds. The test suite sets it; a student gets the full data by default.
``CS231N_GRADING_SEED=<int>``
    Set only by the grader. Check cells then run on inputs the student has not seen and print
    fingerprints of the results instead of comparing them in the kernel (see ``checks``).
"""

from __future__ import annotations

import os


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


FAST: bool = _flag("CS231N_FAST")
"""True when notebooks should run on a small slice of the data."""

_grading = os.environ.get("CS231N_GRADING_SEED", "").strip()
GRADING_SEED: int | None = int(_grading) if _grading else None
"""The grader's hidden seed, or None outside grading."""

GRADING_EXPORT: str = os.environ.get("CS231N_GRADING_EXPORT", "").strip()
"""Under the grader: the folder where tuning checks hand the grader their model's weights,
which the grader re-evaluates outside the kernel ("" otherwise)."""

SEED: int = GRADING_SEED if GRADING_SEED is not None else 0
"""The seed notebooks use for every random choice (data subsamples, initialisation)."""


def mode_banner() -> str:
    """One stable line saying how this run is configured (printed by notebooks' first cell)."""
    size = "fast mode (small slice, CS231N_FAST=1)" if FAST else "full data"
    return f"cs231n_lib: {size}"
