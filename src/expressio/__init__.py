"""expressio: express.io for Python.

One app that serves Express-style HTTP routes and Socket.IO realtime routes,
shares one session between them, and forwards HTTP requests into realtime routes.
"""

__version__ = "0.1.0"
