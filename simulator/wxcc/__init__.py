"""A Webex Contact Center simulator: the WXCC and Webex OAuth APIs over generated calls with real stereo recordings.

`create_app(config)` builds the aiohttp app; `running_simulator(config)` serves it on 127.0.0.1 for tests;
`simulator.wxcc.cli` holds the `callpipe simulator` command. The control API lives under `/api/v1/simulator/`.
"""

from simulator.wxcc.app import create_app
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.faults import FaultRule
from simulator.wxcc.server import SimulatorHandle, SimulatorServer, running_simulator
from simulator.wxcc.state import SimulatorState

__all__ = [
    "FaultRule",
    "SimulatorConfig",
    "SimulatorHandle",
    "SimulatorServer",
    "SimulatorState",
    "create_app",
    "running_simulator",
]
