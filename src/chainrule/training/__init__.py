"""Training loop, predictions and evaluation for any model following the Layer protocol.

dtype policy: for ``fit`` and ``evaluate``, floating ``X`` must have the model's parameter dtype
(float32 data with a float64 model, or the reverse, is a ``ValueError`` saying which to convert);
integer/bool ``X`` is cast to the model's dtype. Training then stays in that dtype end to end.
``predict`` and ``predict_proba`` only run the model, so they cast any numeric ``X`` to the model's
dtype (float64 data from ``chainrule.data`` works with a float32 model).

Targets by loss: ``CrossEntropyLoss`` takes integer labels (N,) in [0, C) or class probabilities
(N, C); ``BCEWithLogitsLoss`` takes 0/1 labels (N,) or (N, 1) for a model with one output;
``MSELoss`` and other losses take targets of the output's shape. Accuracy is recorded for the two
classification losses.

``inputs`` checks and shapes what goes in (X, targets, validation data); ``loop`` is ``fit``,
``history`` its ``History``, ``callbacks`` ``EarlyStopping``, ``progress`` the progress display;
``prediction`` is ``predict``, ``predict_proba`` and ``evaluate``.
"""

# The protocols and the dtype helper are imported by name from here too (chainrule.plotting does).
from .callbacks import Callback, EarlyStopping
from .history import History
from .inputs import Model as Model
from .inputs import _model_dtype as _model_dtype
from .loop import SupportsStep as SupportsStep
from .loop import TrainingDiverged, fit
from .prediction import evaluate, predict, predict_proba

__all__ = ["Callback", "EarlyStopping", "History", "TrainingDiverged", "evaluate", "fit", "predict",
           "predict_proba"]
