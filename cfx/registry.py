"""Model registry: ``@register`` on factory functions, names ``arch.preset``.

Every architecture module registers its presets (the paper's full size, a compact
size that trains on a CPU, and a tiny one for tests) next to a config dataclass.
Model modules are imported on first use, so importing the registry (and the CLI)
stays free of torch until a model is actually needed.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from cfx.errors import UsageError

# The model each command uses without --model or --weights (transfer: its --method global).
DEFAULT_MODELS = {"colorize": "unet.lite0", "detect": "litenet.lite0-ms", "transfer": "iizuka.compact"}

# Modules that register models; imported lazily by _load_all().
MODEL_MODULES: tuple[str, ...] = (
    "cfx.models.iizuka",
    "cfx.models.zhang",
    "cfx.models.koala",
    "cfx.models.autoencoder",
    "cfx.models.unet",
    "cfx.models.detectors",
    "cfx.models.lite_detector",
    "cfx.models.fcid",
)


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one preset."""

    name: str
    arch: str
    task: str  # "colorize" or "detect"
    factory: Callable[..., Any]
    config: Any  # the architecture's config dataclass instance
    description: str = ""
    tiny: bool = False  # test-sized preset
    defaults: dict[str, Any] = field(default_factory=dict)  # runtime defaults, e.g. render_size

    def takes(self, option: str, config: Any = None) -> bool:
        """Whether models of this preset use the runtime ``option`` (e.g. ``temperature``), as
        declared at registration: ``register(..., temperature=True)``, or a predicate on the
        config the model is built from (a card's config may differ from the preset's)."""
        declared = self.defaults.get(option, False)
        return bool(declared(self.config if config is None else config) if callable(declared) else declared)

    @property
    def preset(self) -> str:
        return self.name.split(".", 1)[1]


_REGISTRY: dict[str, ModelSpec] = {}
_loaded = False


def register(
    name: str,
    *,
    task: str,
    config: Any,
    description: str = "",
    tiny: bool = False,
    **defaults: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``factory(config) -> nn.Module`` under ``arch.preset``.

    ``defaults``: runtime defaults (``render_size=320``) and the runtime options the
    preset's models use (``temperature=True``; see :meth:`ModelSpec.takes`).
    """
    if "." not in name:
        raise ValueError(f"model names are 'arch.preset', got {name!r}")

    def decorator(factory: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            warnings.warn(f"model {name!r} registered twice; the later one wins", stacklevel=2)
        _REGISTRY[name] = ModelSpec(
            name=name,
            arch=name.split(".", 1)[0],
            task=task,
            factory=factory,
            config=config,
            description=description,
            tiny=tiny,
            defaults=dict(defaults),
        )
        return factory

    return decorator


def _load_all() -> None:
    global _loaded
    if not _loaded:
        for module in MODEL_MODULES:
            importlib.import_module(module)
        _loaded = True


class UnknownModelError(UsageError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we want a plain line
        return str(self.args[0])


class WrongTaskError(UsageError):
    """A model asked for as a colorizer that is a detector, or the other way round."""


TASK_NOUNS = {"colorize": "colorizer", "detect": "detector"}  # what a model of each task is called


def suggestions(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``known`` that ``name`` may have meant: names it begins (``unet`` →
    ``unet.lite0``), then close spellings (``zhang.compat`` → ``zhang.compact``), then other
    names of its architecture."""
    names = sorted(set(known))
    typed = name.lower()
    arch = typed.split(".", 1)[0]
    prefixed = [k for k in names if k.lower().startswith(typed)]
    same_arch = [k for k in names if "." in typed and k.lower().split(".", 1)[0] == arch]
    close = difflib.get_close_matches(name, names, n=n, cutoff=0.6)
    return list(dict.fromkeys(prefixed + close + same_arch))[:n]


def did_you_mean(names: list[str]) -> str:
    """``; did you mean a, b or c?`` (empty without names)."""
    return f"; did you mean {' or '.join(filter(None, [', '.join(names[:-1]), names[-1]]))}?" if names else ""


def unknown_model(
    name: str, known: Iterable[str], listing: str = "`cfx models --all` lists every name"
) -> UnknownModelError:
    """The error for a name that is neither a preset nor a shipped file, with the names meant (:func:`suggestions`)."""
    return UnknownModelError(f"unknown model {name!r}{did_you_mean(suggestions(name, known))} ({listing})")


def check_name(name: str, shipped: Iterable[str] = ()) -> None:
    """UnknownModelError unless ``name`` is a registered preset or one of the ``shipped``
    weights' names; the error suggests only shipped names (what ``--model`` can load)."""
    _load_all()
    shipped = list(shipped)
    if name not in _REGISTRY and name not in shipped:
        raise unknown_model(name, shipped, "`cfx models` lists the shipped ones")


def get_spec(name: str, task: str | None = None) -> ModelSpec:
    """The preset ``name``; with ``task``, a :class:`WrongTaskError` unless the preset is
    registered for that task (the one place a model's task is checked)."""
    _load_all()
    try:
        spec = _REGISTRY[name]
    except KeyError:
        raise unknown_model(name, [n for n, s in _REGISTRY.items() if not s.tiny]) from None
    if task is not None and spec.task != task:
        raise WrongTaskError(f"{name} is a {spec.task} model, not a {TASK_NOUNS.get(task, task)}")
    return spec


def list_models(task: str | None = None, include_tiny: bool = False) -> list[ModelSpec]:
    _load_all()
    return [
        spec
        for name, spec in sorted(_REGISTRY.items())
        if (task is None or spec.task == task) and (include_tiny or not spec.tiny)
    ]


def build_config(name: str, overrides: dict[str, Any] | None = None) -> Any:
    """The preset's config with ``overrides`` applied; ``None`` values are dropped."""
    spec = get_spec(name)
    changes = {k: v for k, v in (overrides or {}).items() if v is not None}
    return dataclasses.replace(spec.config, **changes) if changes else spec.config


def create_model(name: str, **overrides: Any) -> Any:
    """Build the model ``name`` (untrained) with config overrides, e.g. ``num_classes=8``."""
    spec = get_spec(name)
    model = spec.factory(build_config(name, overrides))
    model.cfx_name = name
    return model


def config_from_dict(name: str, values: dict[str, Any]) -> Any:
    """Rebuild a preset's config from a model card's JSON (lists back to tuples)."""
    spec = get_spec(name)
    known = {f.name: f for f in dataclasses.fields(spec.config)}
    clean = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known}
    return dataclasses.replace(spec.config, **clean)
