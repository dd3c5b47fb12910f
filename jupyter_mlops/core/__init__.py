"""The domain core: plain Python services, free of HTTP and IPython.

The server, the magics, the widgets and the CLI are thin adapters over the
functions in this package; anything a panel can do, a cell can do through the
same call.
"""
