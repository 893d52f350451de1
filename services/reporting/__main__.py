"""``python -m services.reporting``: reporting's commands (see ``command``)."""

import sys

from services.reporting.command import main

sys.exit(main())
