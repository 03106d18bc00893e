"""A discrete-event simulator of the national call-taking platform on the product's own policy.

``ari-app simulate SCENARIO`` runs a scenario (``examples/scenarios/``) over replications with
independent seeds, pairs each with the same callers without the scenario's surges (common
random numbers), and reports every figure with its 95 % interval. The policy functions are
those of :mod:`ari_app.vcta`, driven with a simulated clock: no asyncio, no emulator, no sleep.
Model, assumptions and validation: docs/simulator.md.
"""

from ari_app.simulate.engine import RunResult, run_replication
from ari_app.simulate.errors import ScenarioError
from ari_app.simulate.experiment import Experiment, run_experiment
from ari_app.simulate.policies import POLICIES
from ari_app.simulate.scenario import Scenario, parse_scenario, read_scenario

__all__ = [
    "POLICIES",
    "Experiment",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "parse_scenario",
    "read_scenario",
    "run_experiment",
    "run_replication",
]
