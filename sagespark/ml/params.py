"""Spark Params derived from an algorithm's declaration, generated when the Estimator/Model class is made.

One :class:`~sagespark.algorithms.base.Algorithm` declares its hyperparameters, inputs and outputs once;
this module turns that declaration into Spark ML Params, so nothing is restated by hand:

* one Param per hyperparameter, ``Param.name`` = the SageMaker name (``mini_batch_size``), its doc from the
  descriptor, a type converter that validates through the descriptor (scikit-learn style messages), the
  default from the spec (required ones have none; ``"auto"`` stays ``"auto"``), and camelCase accessors
  (``setMiniBatchSize`` / ``getMiniBatchSize``; setters on the Estimator only: a fitted model's
  hyperparameters are facts, not settings);
* one column Param per input, named as Spark names them (``featuresCol``, ``labelCol``);
* one column Param per output, named after the output (``closestClusterCol``, default ``"closest_cluster"``);
* ``verbose`` when the algorithm has verbose outputs, and on the Estimator the framework Params
  ``numWorkers``, ``storeUri`` and ``useGpu``.

Examples
--------
>>> from sagespark.ml.params import camel_case, output_param_name
>>> camel_case("mini_batch_size"), output_param_name("closest_cluster")
('miniBatchSize', 'closestClusterCol')
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from pyspark.ml.param import Param, Params, TypeConverters

from sagespark.errors import InvalidHyperparameterError
from sagespark.hyperparams.descriptors import REQUIRED, Hyperparameter

if TYPE_CHECKING:
    from sagespark.algorithms.base import Algorithm, InputField, OutputField

__all__ = [
    "camel_case",
    "pascal_case",
    "output_param_name",
    "ParamDecl",
    "declare_params",
    "AlgorithmParams",
]

_NO_DEFAULT: Any = object()


def camel_case(name: str) -> str:
    """``"mini_batch_size"`` → ``"miniBatchSize"``; ``"k"`` → ``"k"``."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def pascal_case(name: str) -> str:
    """``"mini_batch_size"`` → ``"MiniBatchSize"``; ``"featuresCol"`` → ``"FeaturesCol"``."""
    camel = camel_case(name)
    return camel[:1].upper() + camel[1:]


def output_param_name(output: str) -> str:
    """Name of the Param holding the column name of output ``output`` (``"projectionCol"``)."""
    return camel_case(output) + "Col"


class HyperparameterConverter:
    """A Spark type converter that validates and canonicalises through a hyperparameter descriptor.

    Accepts Python values and SageMaker wire strings alike (``3``, ``"3"``, ``"auto"``).
    """

    def __init__(self, descriptor: Hyperparameter) -> None:
        self.descriptor = descriptor

    def __call__(self, value: Any) -> Any:
        return self.descriptor.validate(value)

    def __repr__(self) -> str:
        return f"HyperparameterConverter({self.descriptor.name!r})"


class _BoundedInt:
    """Converter for integer framework Params with a lower bound and a scikit-learn style message."""

    def __init__(self, name: str, owner: str, low: int) -> None:
        self.name, self.owner, self.low = name, owner, low

    def __call__(self, value: Any) -> int:
        try:
            if isinstance(value, bool):
                raise TypeError(value)
            out = TypeConverters.toInt(value)
        except TypeError:
            out = None
        if out is None or out < self.low:
            raise InvalidHyperparameterError(
                f"The '{self.name}' parameter of {self.owner} must be an int in the range "
                f"[{self.low}, inf). Got {value!r} instead."
            )
        return out


@dataclass(frozen=True)
class ParamDecl:
    """One generated Param: its name, doc, converter, default and which accessors it gets.

    ``kind`` is ``"hyperparameter"``, ``"input"``, ``"output"``, ``"verbose"`` or ``"framework"``;
    ``target`` is the hyperparameter, input or output name it stands for.
    """

    name: str
    doc: str
    converter: Callable[[Any], Any]
    default: Any
    kind: str
    target: str
    settable: bool = True


def _input_decl(field: InputField) -> ParamDecl:
    usage = "" if field.required_for_training else " (optional)"
    doc = f"Name of the column holding the '{field.name}' input ({field.kind}){usage}."
    return ParamDecl(field.param, doc, TypeConverters.toString, field.name, "input", field.name)


def _output_decl(field: OutputField) -> ParamDecl:
    doc = f"Name of the output column for '{field.name}' ({field.kind})."
    if field.verbose:
        doc = doc[:-1] + ", written when verbose is true."
    name = output_param_name(field.name)
    return ParamDecl(name, doc, TypeConverters.toString, field.name, "output", field.name)


def declare_params(algorithm: type[Algorithm], role: str, owner: str) -> tuple[ParamDecl, ...]:
    """Every Param an Estimator (``role="estimator"``) or Model (``role="model"``) of ``algorithm`` has.

    Parameters
    ----------
    algorithm : type[Algorithm]
        The algorithm whose declaration the Params derive from.
    role : {"estimator", "model"}
        Models get hyperparameter getters only, and no framework Params.
    owner : str
        Class name used in error messages.

    Examples
    --------
    >>> from sagespark.algorithms import get_algorithm            # doctest: +SKIP
    >>> decls = declare_params(get_algorithm("kmeans"), "model", "KMeansModel")  # doctest: +SKIP
    >>> [d.name for d in decls][:2]                                                 # doctest: +SKIP
    ['feature_dim', 'k']
    """
    if role not in ("estimator", "model"):
        raise ValueError(f"role must be 'estimator' or 'model', got {role!r}")
    decls: list[ParamDecl] = []
    for name, descriptor in algorithm.hyperparameters.fields().items():
        default = _NO_DEFAULT if descriptor.default is REQUIRED else descriptor.default
        doc = descriptor.doc + (" (required)" if descriptor.required and not descriptor.inferred else "")
        if descriptor.inferred and "infer" not in doc:
            doc += " (inferred from the data when not set)"
        decls.append(
            ParamDecl(
                name, doc, HyperparameterConverter(descriptor), default, "hyperparameter", name,
                settable=role == "estimator",
            )
        )
    decls.extend(_input_decl(f) for f in algorithm.inputs)
    decls.extend(_output_decl(f) for f in algorithm.outputs)
    if any(f.verbose for f in algorithm.outputs):
        decls.append(
            ParamDecl("verbose", "Whether to also write the verbose output columns.",
                      TypeConverters.toBoolean, False, "verbose", "verbose")
        )
    if role == "estimator":
        decls += [
            ParamDecl(
                "numWorkers",
                "Number of training workers (barrier tasks); default: Spark's default parallelism.",
                _BoundedInt("numWorkers", owner, 1), None, "framework", "num_workers",
            ),
            ParamDecl(
                "storeUri",
                "Where model artifacts are written (any fsspec/pyarrow URI); default: a local temp store.",
                TypeConverters.toString, None, "framework", "store_uri",
            ),
            ParamDecl(
                "useGpu",
                "Train on GPUs (true), on CPUs (false), or on GPUs when the workers have them (unset).",
                TypeConverters.toBoolean, None, "framework", "use_gpu",
            ),
        ]
    return tuple(decls)


def _make_getter(name: str, doc: str) -> Callable[[Params], Any]:
    def getter(self: Params) -> Any:
        return self.getOrDefault(name)

    getter.__doc__ = f"Gets the value of ``{name}`` or its default. {doc}"
    return getter


def _make_setter(name: str, doc: str) -> Callable[[AlgorithmParams, Any], AlgorithmParams]:
    def setter(self: AlgorithmParams, value: Any) -> AlgorithmParams:
        return self.setParams(**{name: value})

    setter.__doc__ = f"Sets the value of ``{name}``. {doc}"
    return setter


def _install(cls: type[AlgorithmParams], decls: tuple[ParamDecl, ...]) -> None:
    """Attach the Params and their accessors to ``cls``; refuse names that would shadow anything."""
    for decl in decls:
        if decl.name in cls.__dict__ or hasattr(cls, decl.name):
            existing = getattr(cls, decl.name)
            if not isinstance(existing, Param):
                raise TypeError(f"{cls.__name__}: Param {decl.name!r} would shadow attribute {existing!r}.")
        setattr(cls, decl.name, Param(Params._dummy(), decl.name, decl.doc, typeConverter=decl.converter))
        accessors: list[tuple[str, Callable[..., Any]]] = [
            ("get" + pascal_case(decl.name), _make_getter(decl.name, decl.doc))
        ]
        if decl.settable:
            accessors.append(("set" + pascal_case(decl.name), _make_setter(decl.name, decl.doc)))
        for method_name, function in accessors:
            if method_name in cls.__dict__:
                continue  # the class defines it by hand: keep that one
            if hasattr(cls, method_name) and not getattr(getattr(cls, method_name), "_generated", False):
                raise TypeError(f"{cls.__name__}: accessor {method_name!r} would shadow an inherited method.")
            function.__name__ = method_name
            function.__qualname__ = f"{cls.__name__}.{method_name}"
            function._generated = True  # type: ignore[attr-defined]
            setattr(cls, method_name, function)


class AlgorithmParams(Params):
    """Params base of every Estimator and Model: generates the Params of ``sagemaker_algorithm``.

    A subclass that sets ``sagemaker_algorithm`` gets its Params generated when the class is created.
    Constructors take every Param as a keyword argument, as PySpark's estimators do.
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]]
    _role: ClassVar[str] = "estimator"
    _param_decls: ClassVar[tuple[ParamDecl, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "sagemaker_algorithm" in cls.__dict__:
            cls._param_decls = declare_params(cls.sagemaker_algorithm, cls._role, cls.__name__)
            _install(cls, cls._param_decls)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        if not self._param_decls:
            raise TypeError(f"{type(self).__name__} has no sagemaker_algorithm; instantiate a subclass.")
        self._setDefault(**{d.name: d.default for d in self._param_decls if d.default is not _NO_DEFAULT})
        self.setParams(**kwargs)

    def setParams(self, **kwargs: Any) -> AlgorithmParams:
        """Set any Params by name (``k=10``, ``featuresCol="f"``, ``numWorkers=2``); ``None`` clears one.

        Raises
        ------
        TypeError
            For a name that is not a Param of this class (with the closest valid name).
        InvalidHyperparameterError
            For an invalid value.
        """
        settable = {d.name for d in self._param_decls if d.settable}
        for name in kwargs:
            if name not in settable:
                valid = sorted(settable)
                guess = difflib.get_close_matches(name, valid, n=1) or [
                    d.name for d in self._param_decls if camel_case(d.name) == name
                ]
                hint = f" Did you mean {guess[0]!r}?" if guess else ""
                raise TypeError(
                    f"{type(self).__name__} got an unexpected parameter {name!r}.{hint} Valid: {valid}."
                )
        for name in [n for n, v in kwargs.items() if v is None]:
            self.clear(self.getParam(name))  # back to the default (or unset, for required ones)
        return self._set(**{n: v for n, v in kwargs.items() if v is not None})

    def set(self, param: Param, value: Any) -> None:
        # PySpark's ``set`` re-wraps converter errors in a bare ValueError; keep ours typed.
        self._shouldOwn(param)
        self._paramMap[param] = None if value is None else param.typeConverter(value)

    # -- views used by fit / transform --------------------------------------------------------
    def _decls(self, kind: str) -> list[ParamDecl]:
        return [d for d in self._param_decls if d.kind == kind]

    def _hyperparameter_values(self) -> dict[str, Any]:
        """Hyperparameters by SageMaker name: every Param that is set or has a default."""
        out: dict[str, Any] = {}
        for decl in self._decls("hyperparameter"):
            if self.isDefined(decl.name) and self.getOrDefault(decl.name) is not None:
                out[decl.name] = self.getOrDefault(decl.name)
        return out

    def _input_columns(self) -> dict[str, str]:
        """DataFrame column name by input name (``{"features": "f"}``)."""
        return {d.target: self.getOrDefault(d.name) for d in self._decls("input")}

    def _output_columns(self) -> dict[str, str]:
        """DataFrame column name by output name, for the outputs this instance writes."""
        verbose = bool(self.getOrDefault("verbose")) if self.hasParam("verbose") else False
        fields = {f.name: f for f in self.sagemaker_algorithm.outputs}
        return {
            d.target: self.getOrDefault(d.name)
            for d in self._decls("output")
            if verbose or not fields[d.target].verbose
        }
