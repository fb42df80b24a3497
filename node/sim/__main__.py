"""`python -m node.sim`: see node/sim/cli.py."""

import sys

from node.sim.cli import main

sys.exit(main())
