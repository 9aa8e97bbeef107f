"""`python -m tfweek3` runs the same command line as the `tfweek3` script."""

import sys

from tfweek3.cli.main import main

sys.exit(main())
