"""``python -m services.routing.reference``: the reference data command (see ``command``)."""

import sys

from services.routing.reference.command import main

sys.exit(main())
