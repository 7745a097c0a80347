"""Prints the Mosquitto ACL of a deployment file: each gateway may publish only its own stations' and cameras' topics.

Usage: .venv/bin/python docs/mosquitto/make-acl.py /etc/tichwatch/site.yaml > /etc/mosquitto/tichwatch/acl
"""
from __future__ import annotations

import sys
from pathlib import Path

from tichwatch.config.loader import ConfigError, load_settings
from tichwatch.ingest.gateway_auth_acl import mosquitto_acl


def main(argv: list[str]) -> int:
    """Print the ACL generated from the deployment file argv[1]; 2 on a bad file or settings."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        sys.stdout.write(mosquitto_acl(load_settings(Path(argv[1]))))
    except (ConfigError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
