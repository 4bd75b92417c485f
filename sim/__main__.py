"""``python -m sim`` runs the ``hukou-sim`` command line."""

import sys

from sim.cli import main

sys.exit(main())
