"""``nameko`` command with eventlet's bugfix-mode notice silenced (it would open every log).

python -m deploy.nameko_run run --config services/intake/config.yml services.intake.service
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import nameko.cli  # noqa: E402

if __name__ == "__main__":
    nameko.cli.cli()
