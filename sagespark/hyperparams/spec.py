"""The :class:`Hyperparameters` base: a declarative set of descriptors for one algorithm.

An algorithm declares its SageMaker hyperparameters once, as class attributes; everything else (Spark
Params, validation, the wire form of training jobs, the CLI) is derived from that declaration.

Examples
--------
>>> from sagespark.hyperparams import Hyperparameters, Int, Choice
>>> class KMeansHP(Hyperparameters):
...     display_name = "KMeans"
...     k = Int("Number of clusters.", low=2)
...     init_method = Choice("Seeding.", ["random", "kmeans++"], "random")
>>> hp = KMeansHP.from_dict({"k": "4"})
>>> hp.k, hp.init_method
(4, 'random')
>>> hp.to_wire()
{'k': '4', 'init_method': 'random'}
"""

from __future__ import annotations

from typing import Any, ClassVar, Iterator, Mapping

from sagespark.errors import InvalidHyperparameterError
from sagespark.hyperparams.descriptors import REQUIRED, Hyperparameter

__all__ = ["Hyperparameters"]


class Hyperparameters:
    """Validated hyperparameter values of one algorithm.

    Subclasses declare descriptors as class attributes. Instances are immutable mappings of canonical
    values; build them with :meth:`from_dict` (Python or wire values) and copy with :meth:`replace`.
    """

    display_name: ClassVar[str] = "Algorithm"

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    # -- declaration introspection ---------------------------------------------------------
    @classmethod
    def fields(cls) -> dict[str, Hyperparameter]:
        """The declared descriptors, in declaration order (base classes first)."""
        out: dict[str, Hyperparameter] = {}
        for klass in reversed(cls.__mro__):
            for name, attr in vars(klass).items():
                if isinstance(attr, Hyperparameter):
                    out[name] = attr
        return out

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, allow_missing_inferred: bool = True) -> Hyperparameters:
        """Validate ``values`` (Python or SageMaker wire strings) and fill in the defaults.

        Parameters
        ----------
        values : Mapping[str, Any]
            Hyperparameter values by SageMaker name. ``None`` means "not set".
        allow_missing_inferred : bool
            When true, a required hyperparameter marked ``inferred`` (``feature_dim``) may be absent;
            it is left as ``None`` for the algorithm to infer from the data.

        Raises
        ------
        InvalidHyperparameterError
            For an unknown name, a missing required value, or an invalid value.
        """
        fields = cls.fields()
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise InvalidHyperparameterError(
                f"Unknown hyperparameter(s) {unknown} for {cls.display_name}; "
                f"valid names are {sorted(fields)}."
            )
        resolved: dict[str, Any] = {}
        for name, field in fields.items():
            value = values.get(name)
            if value is None:
                if field.required and not (field.inferred and allow_missing_inferred):
                    raise InvalidHyperparameterError(
                        f"The '{name}' parameter of {cls.display_name} is required and was not given."
                    )
                resolved[name] = None if field.required else field.default
            else:
                resolved[name] = field.validate(value)
        return cls(resolved)

    @classmethod
    def from_wire(cls, values: Mapping[str, str]) -> Hyperparameters:
        """Decode SageMaker's ``hyperparameters.json`` form (every value a string)."""
        return cls.from_dict(values)

    def replace(self, **changes: Any) -> Hyperparameters:
        """A copy with ``changes`` validated and applied (used to fill in inferred values)."""
        merged = {k: v for k, v in self._values.items() if v is not None}
        merged.update(changes)
        return type(self).from_dict(merged)

    # -- access ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Canonical Python values by name (``None`` for an inferred value not yet known)."""
        return dict(self._values)

    def to_wire(self) -> dict[str, str]:
        """SageMaker's wire form: every set value as a string."""
        fields = self.fields()
        return {k: fields[k].encode(v) for k, v in self._values.items() if v is not None}

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values == self._values  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"{type(self).__name__}({inner})"

    @classmethod
    def required_names(cls) -> list[str]:
        """Names with no default (required by SageMaker)."""
        return [n for n, f in cls.fields().items() if f.default is REQUIRED]
