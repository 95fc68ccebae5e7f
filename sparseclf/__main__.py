# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""``python -m sparseclf``: the command line (see ``python -m sparseclf --help``).

``demo`` (also run without a command) trains a spam filter on the shipped SMS
data and a 100,000-label classifier on synthetic data; ``fit``, ``evaluate``
and ``predict`` work on data files.
"""

import sys

from sparseclf._cli import main

if __name__ == "__main__":
    sys.exit(main())
