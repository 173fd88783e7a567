"""`python -m simulator.wxcc`: the simulator standalone, with the same options as `callpipe simulator`."""

from __future__ import annotations

import argparse
import os
import sys

from shared.logging import configure_logging
from simulator.wxcc.cli import configure_parser, main_simulator


def main() -> int:
    """Parse the options and serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m simulator.wxcc", description=__doc__)
    configure_parser(parser)
    configure_logging(os.environ.get("CALLPIPE_LOG_LEVEL", "INFO"), os.environ.get("CALLPIPE_LOG_FORMAT", "auto"))
    return main_simulator(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
