"""Shared pytest configuration: hypothesis profiles.

``ci`` (the default) is derandomized, so every run of the suite draws the same
examples and a failure reproduces exactly; ``dev`` draws new random examples
and more of them. Choose with ``HYPOTHESIS_PROFILE=dev python -m pytest``.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=150,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=600,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
