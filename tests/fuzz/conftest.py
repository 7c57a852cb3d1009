"""Hypothesis settings for the fuzz suite.

CI runs the ``ci`` profile: derandomized (the same examples on every run, so a red run is
reproducible from the log alone), a few hundred examples per test, no example database written
to the checkout, and no per-example deadline (a loaded machine must not turn slowness into a
failure). ``EXPRESSIO_FUZZ_EXAMPLES=100000`` switches to the ``long`` profile for a local hunt:
random seeds, that many examples per test, failures remembered in ``.hypothesis/``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_CI_EXAMPLES = 200

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=_CI_EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,
    # Generated inputs are large on purpose (frames, payloads); building them is not the bug.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_requested = os.environ.get("EXPRESSIO_FUZZ_EXAMPLES", "").strip()
if _requested:
    settings.register_profile(
        "long",
        parent=settings.get_profile("ci"),
        derandomize=False,
        max_examples=int(_requested),
        database=settings.default.database,
    )
    settings.load_profile("long")
else:
    settings.load_profile("ci")
