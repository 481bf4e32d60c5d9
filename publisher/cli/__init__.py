"""The ``herald`` command: one module per command group, and the processes it starts."""
