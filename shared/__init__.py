"""The small kernel every service uses: config, events, outbox/inbox, providers, identifiers.

No service's domain logic lives here.
"""

import warnings

# nameko 3.0.0rc11 runs on eventlet, which warns on import that it is in bugfix mode.
# That is a known, accepted choice (see pyproject.toml); every other warning stays visible.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
