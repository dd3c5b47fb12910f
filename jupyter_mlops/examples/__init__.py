"""Example projects the demo builds on; importable so an installed wheel can run the demo."""
