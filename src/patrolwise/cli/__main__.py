"""``python -m patrolwise.cli``: the same as the ``patrolwise`` command."""

from . import main

main()
