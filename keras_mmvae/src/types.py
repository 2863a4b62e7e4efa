"""Type aliases that need no backend import."""

from typing import Any

Tensor = Any
