# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""``python -m sparseclf``: the command line (see ``python -m sparseclf --help``).

``demo`` (also run without a command) trains a spam filter on the shipped SMS
data and a 100,000-label classifier on synthetic data; ``fit``, ``evaluate``
and ``predict`` work on data files.
"""

import importlib.util
import os
import sys


def _shadowed_by_sources():
    """True when ``-m`` found this uncompiled source tree before the install.

    ``python -m`` puts the working folder first on ``sys.path``, so after
    ``pip install .`` the README's ``python -m sparseclf demo``, run in the
    source folder, finds ``./sparseclf`` with its kernels as plain ``.py``.
    """
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.find_spec("sparseclf._kernels._output_layer")
    return (
        bool(sys.path)
        and os.path.abspath(sys.path[0] or os.curdir) == here
        and spec.origin.endswith(".py")
    )


def _run():
    if _shadowed_by_sources():
        # Run the installed package instead: drop the source folder and forget
        # the modules imported from it.
        del sys.path[0]
        for name in [m for m in sys.modules if m.split(".")[0] == "sparseclf"]:
            del sys.modules[name]
        if importlib.util.find_spec("sparseclf") is None:
            print(
                "error: sparseclf is not installed; run `pip install .`",
                file=sys.stderr,
            )
            return 1
    from sparseclf._cli import main

    return main()


if __name__ == "__main__":
    sys.exit(_run())
