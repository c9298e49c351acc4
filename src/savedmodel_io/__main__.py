"""``python -m savedmodel_io``: the same program as ``savedmodel-cli``."""

import sys

from savedmodel_io.cli import main

sys.exit(main())
