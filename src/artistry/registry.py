"""Name -> class registries for model families, losses and metrics, filled by decorators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of classes; unknown names fail with the list of valid ones."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' registered twice")
            self._items[name] = obj
            obj.registry_name = name  # type: ignore[attr-defined]
            return obj

        return deco

    def get(self, name: str, flag: str | None = None) -> T:
        _load_builtins()
        if name not in self._items:
            where = f"{flag}: " if flag else ""
            raise ConfigError(f"{where}unknown {self.kind} '{name}'; choose one of: {', '.join(self.names())}")
        return self._items[name]

    def names(self) -> list[str]:
        _load_builtins()
        return sorted(self._items)


MODELS: Registry = Registry("model")
LOSSES: Registry = Registry("loss")


def _load_builtins() -> None:
    # Importing the packages runs their @register decorators; cheap after the first call.
    from . import losses, models  # noqa: F401
