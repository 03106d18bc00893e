"""The one error a scenario can raise: a sentence saying what is wrong and where."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario that cannot be simulated; the message names the file, the key and the fix."""
