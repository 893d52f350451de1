"""Intake's use cases: each loads what it needs through a unit of work, checks who asks
(shared/access.py), asks the request aggregate or the rules for the change and commits."""
