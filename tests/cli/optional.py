"""The command's optional dependencies (the ``plot`` extra), for skip marks.

CI installs the extra (the README's first command), so these tests run
there; a checkout without it skips them with a reason.
"""

import pytest

try:
    from PIL import Image
except ImportError:  # the plot extra is not installed
    Image = None
try:
    import matplotlib
except ImportError:
    matplotlib = None

needs_pillow = pytest.mark.skipif(Image is None, reason="needs Pillow")
needs_matplotlib = pytest.mark.skipif(matplotlib is None, reason="needs matplotlib")
