"""Suite-wide settings. Area fixtures live in tests/<area>/conftest.py."""

import os

import matplotlib
from hypothesis import settings

# Tests write PNGs; never open a window, whatever the user's matplotlib configuration says.
matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

# Bounded, deterministic property tests: CI must be reproducible and stay well under 10 minutes.
settings.register_profile("chainrule", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("chainrule")
