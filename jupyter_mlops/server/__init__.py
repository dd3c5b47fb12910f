"""The Jupyter server extension: HTTP in, core calls, JSON out.

Handlers parse a request into a pydantic model, call a core service off the
event loop and serialise the answer; errors are mapped in `errors.py` only.
"""
