"""data layer of sagespark (see DESIGN.md section 2): Arrow ⇄ numpy / CSR, and the ``sagemaker`` data source.

Modules: :mod:`~sagespark.data.vectors` (VectorUDT / array columns ⇄ matrices),
:mod:`~sagespark.data.channels` (Arrow batches → ChannelData / predict batches, predictions → Arrow),
:mod:`~sagespark.data.columns` (column selection and type checks), :mod:`~sagespark.data.datasource`
(the Spark data source ``sagemaker``).

Examples
--------
>>> from sagespark.data import register_active
>>> register_active() in (True, False)
True
"""

from __future__ import annotations

import sys

__all__ = ["register_active"]


def register_active() -> bool:
    """Register the ``sagemaker`` data source with the active SparkSession, if any.

    Meant for ``import sagespark``: it costs nothing when Spark is not loaded (without ``pyspark.sql``
    imported there can be no session), so importing sagespark stays light.

    Returns
    -------
    bool
        Whether a session was found and the data source registered with it.
    """
    if "pyspark.sql" not in sys.modules:
        return False
    from sagespark.data.datasource import register_active as register_with_session

    return register_with_session()
