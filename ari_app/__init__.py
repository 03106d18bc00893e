"""Emergency-call routing between fire-service call-taking centres, as an ARI application."""

__version__ = "0.1.0"
