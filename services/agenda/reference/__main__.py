"""``python -m services.agenda.reference``: the punti di consulenza command (see ``command``)."""

import sys

from services.agenda.reference.command import main

sys.exit(main())
