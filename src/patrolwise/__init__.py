"""patrolwise: target, track and test patrols of crime hot spots.

The stages (``target``, ``track``, ``plan``, ``engage``, ``evaluate``) are pure libraries over
tables; ``store`` persists them; ``cli`` and ``web`` are thin shells.
"""

__version__ = "0.1.0"
