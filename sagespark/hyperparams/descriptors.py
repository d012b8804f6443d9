"""Hyperparameter descriptors: one declaration gives the default, the range, the doc and the wire codec.

SageMaker passes every hyperparameter as a string (``"True"``, ``"auto"``, ``'["msd"]'``); each descriptor
decodes that wire form to the same Python value that a direct Python or Spark caller would pass, and
validates it with a scikit-learn style message.

Examples
--------
>>> from sagespark.hyperparams import Hyperparameters, Int
>>> class HP(Hyperparameters):
...     algorithm = "demo"
...     k = Int("Number of clusters.", low=2)
>>> HP.from_dict({"k": "3"}).k
3
"""

from __future__ import annotations

import json
import math
from typing import Any, Sequence

from sagespark.errors import InvalidHyperparameterError

__all__ = ["REQUIRED", "AUTO", "Hyperparameter", "Int", "Float", "Bool", "Choice", "List", "Str"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""Marker default: the hyperparameter has no default and must be given (or inferred from data)."""

AUTO = "auto"
"""The value SageMaker uses for "let the algorithm choose"."""


class Hyperparameter:
    """Base descriptor.

    Parameters
    ----------
    doc : str
        One-line description, shown in Spark's ``explainParams`` and the CLI.
    default : Any
        The default value, :data:`REQUIRED`, ``None`` for an optional value that is unset unless given
        (SageMaker's "optional, no default", e.g. k-NN's ``dimension_reduction_type``), or ``"auto"``
        when ``allow_auto`` is set.
    allow_auto : bool
        Whether the string ``"auto"`` is a valid value (resolved later by the algorithm).
    inferred : bool
        Whether a missing value is inferred from the data (``feature_dim``) instead of being an error.
    """

    kind = "value"

    def __init__(
        self, doc: str, default: Any = REQUIRED, *, allow_auto: bool = False, inferred: bool = False
    ) -> None:
        self.doc = doc
        self.allow_auto = allow_auto
        self.inferred = inferred
        self.name = "<unnamed>"
        self.owner = "<algorithm>"
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.owner = vars(owner).get("display_name", owner.__name__)
        if self.default is not REQUIRED and self.default is not None:
            self.default = self.validate(self.default)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance._values[self.name]

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    # -- to be refined by subclasses -------------------------------------------------------
    def describe(self) -> str:
        """Human description of the accepted values, used in error messages."""
        return "a value"

    def _convert(self, value: Any) -> Any:
        """Convert a Python or wire value to the canonical type, or raise ``ValueError``."""
        return value

    def _check(self, value: Any) -> bool:
        return True

    # -- shared behaviour ------------------------------------------------------------------
    def error(self, value: Any) -> InvalidHyperparameterError:
        what = self.describe() + (' or "auto"' if self.allow_auto else "")
        return InvalidHyperparameterError(
            f"The '{self.name}' parameter of {self.owner} must be {what}. Got {value!r} instead."
        )

    def validate(self, value: Any) -> Any:
        """Return the canonical value, or raise :class:`InvalidHyperparameterError`."""
        if self.allow_auto and isinstance(value, str) and value.strip().lower() == AUTO:
            return AUTO
        try:
            converted = self._convert(value)
        except (TypeError, ValueError):
            raise self.error(value) from None
        if not self._check(converted):
            raise self.error(value)
        return converted

    def encode(self, value: Any) -> str:
        """SageMaker's wire form (always a string)."""
        return str(value)


class Int(Hyperparameter):
    """An integer in ``[low, high]`` (either bound optional), or one of ``values`` when given."""

    kind = "int"

    def __init__(
        self,
        doc: str,
        default: Any = REQUIRED,
        *,
        low: int | None = None,
        high: int | None = None,
        values: tuple[int, ...] | None = None,
        **kw: Any,
    ) -> None:
        self.low, self.high, self.values = low, high, values
        super().__init__(doc, default, **kw)

    def describe(self) -> str:
        if self.values is not None:
            return "an int among {" + ", ".join(str(v) for v in self.values) + "}"
        lo = "-inf" if self.low is None else str(self.low)
        hi = "inf)" if self.high is None else f"{self.high}]"
        return f"an int in the range [{lo}, {hi}" if (self.low, self.high) != (None, None) else "an int"

    def _convert(self, value: Any) -> int:
        if isinstance(value, bool):
            raise TypeError("bool is not an int")
        if isinstance(value, str):
            value = value.strip()
            as_float = float(value)
            if not as_float.is_integer():
                raise ValueError(value)
            return int(as_float)
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(value)
            return int(value)
        return int(value)

    def _check(self, value: int) -> bool:
        in_range = (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        return in_range and (self.values is None or value in self.values)


class Float(Hyperparameter):
    """A finite float in the range given by ``low``/``high`` (open or closed ends)."""

    kind = "float"

    def __init__(
        self,
        doc: str,
        default: Any = REQUIRED,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
        **kw: Any,
    ) -> None:
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open
        super().__init__(doc, default, **kw)

    def describe(self) -> str:
        if self.low is None and self.high is None:
            return "a float"
        lo = "-inf" if self.low is None else repr(float(self.low))
        hi = "inf" if self.high is None else repr(float(self.high))
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        return f"a float in the range {left}{lo}, {hi}{right}"

    def _convert(self, value: Any) -> float:
        if isinstance(value, bool):
            raise TypeError("bool is not a float")
        out = float(value.strip() if isinstance(value, str) else value)
        if not math.isfinite(out):
            raise ValueError(value)
        return out

    def _check(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return False
        return True


class Bool(Hyperparameter):
    """A boolean; the wire form is SageMaker's ``"True"``/``"False"`` (``"1"``/``"0"`` accepted)."""

    kind = "bool"
    _TRUE = {"true", "1", "yes"}
    _FALSE = {"false", "0", "no"}

    def describe(self) -> str:
        return "a bool"

    def _convert(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            low = value.strip().lower()
            if low in self._TRUE:
                return True
            if low in self._FALSE:
                return False
        raise ValueError(value)

    def encode(self, value: Any) -> str:
        return value if value == AUTO else ("True" if value else "False")


class Str(Hyperparameter):
    """A free-form string (names, frequencies like ``"H"``)."""

    kind = "str"

    def describe(self) -> str:
        return "a str"

    def _convert(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(value)
        return value


class Choice(Hyperparameter):
    """One of a fixed set of strings (compared case-sensitively, as SageMaker does)."""

    kind = "choice"

    def __init__(self, doc: str, options: Sequence[str], default: Any = REQUIRED, **kw: Any) -> None:
        self.options = tuple(options)
        super().__init__(doc, default, **kw)

    def describe(self) -> str:
        return "a str among {" + ", ".join(repr(o) for o in self.options) + "}"

    def _convert(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(value)
        return value.strip()

    def _check(self, value: str) -> bool:
        return value in self.options


class List(Hyperparameter):
    """A list of values, each validated by ``item``; wire form is JSON (``'["msd", "ssd"]'``).

    A plain comma-separated string (``"msd,ssd"``) is accepted too, since SageMaker users write both.
    """

    kind = "list"

    def __init__(self, doc: str, item: Hyperparameter, default: Any = REQUIRED, **kw: Any) -> None:
        self.item = item
        super().__init__(doc, default, **kw)

    def __set_name__(self, owner: type, name: str) -> None:
        self.item.name = name
        self.item.owner = vars(owner).get("display_name", owner.__name__)
        super().__set_name__(owner, name)

    def describe(self) -> str:
        return f"a list whose items are each {self.item.describe()}"

    def _convert(self, value: Any) -> list[Any]:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                value = json.loads(text.replace("'", '"'))
            else:
                value = [part.strip() for part in text.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)):
            raise TypeError(value)
        return [self.item.validate(v) for v in value]

    def encode(self, value: Any) -> str:
        return value if value == AUTO else json.dumps(list(value))
