"""The typed ARI client driven against the in-process emulator over real HTTP and websockets.

See docs/client-against-emulator.md.
"""
