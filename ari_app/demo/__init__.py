"""The demo: the application on the built-in emulator, with simulated callers and operators."""
