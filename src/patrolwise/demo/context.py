"""What the demo steps share: where to write, the store, the synthetic city, and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..store import Store
from ..synth import City


@dataclass
class DemoContext:
    """Handed to each ``demo/step_*.run``; ``results`` carries outputs between steps."""

    out: Path
    store: Store
    city: City
    settings: Settings
    results: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
