"""Submission kit: templates per challenge, output checks, and runs of a submission in a sandbox.

The protocol (``/input`` read-only, ``/output`` written, scoring outside the sandbox) is in
``README.md`` beside this file; ``hepbench submission init | validate | run`` drive it.
"""
