"""Benchmarks of the routing policy and the script that writes the national example."""
