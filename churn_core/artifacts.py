"""Model artifacts as files in a safe format: skops, never pickle.

A saved model is loaded only if every type in the file is on an explicit allow-list
(scikit-learn, xgboost and churn_core's own feature step) and its sha256 matches the
one recorded when it was saved. Anything else is refused with an ArtifactError.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import shutil
from pathlib import Path

from .errors import ChurnCoreError, DiskFullError

logger = logging.getLogger(__name__)

# Types skops does not trust by default that our pipelines contain. Nothing else is accepted.
ALLOWED_TYPES = frozenset({
    "churn_core.features.ChurnFeatures", "churn_core.features.FeatureStep",
    "churn_core.modeling.BetaCalibration", "churn_core.modeling.OOFCalibratedClassifier", "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.tree._tree.Tree", "xgboost.core.Booster", "xgboost.sklearn.XGBClassifier",
})


SPACE_MARGIN_BYTES = 16 * 1024 * 1024  # free space kept beyond a model file's own size (twice: .part, then file)


class ArtifactError(ChurnCoreError, RuntimeError):
    """A model file is missing, altered, or holds types that are not allowed."""


def save_model(estimator: object, path: str | Path) -> str:
    """Write ``estimator`` to ``path`` with skops and return the file's sha256. An existing file is never
    overwritten: a trained model is not lost silently."""
    import skops.io as sio

    path = Path(path)
    if path.exists():
        raise ArtifactError(f"The model file '{path}' exists already and is not overwritten (another run may "
                            "use it). Save the model under a new path.", code="artifact_exists", path=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = sio.dumps(estimator)
    needed = 2 * len(blob) + SPACE_MARGIN_BYTES
    free = shutil.disk_usage(path.parent).free
    if free < needed:
        raise DiskFullError(f"Not enough free space to save the model file '{path}': it needs about "
                            f"{needed / 1_048_576:.1f} MB and the disk has {free / 1_048_576:.1f} MB free. Nothing "
                            "was changed. Free some space and train again.", path=str(path),
                            needed=f"{needed / 1_048_576:.1f}", free=f"{free / 1_048_576:.1f}")
    tmp = path.with_suffix(path.suffix + ".part")
    try:
        tmp.write_bytes(blob)
        tmp.replace(path)  # a reader never sees half a file
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(f"The disk is full: the model file '{path}' could not be saved ({err.strerror}). "
                                "Nothing was changed. Free some space and train again.", path=str(path),
                                needed=f"{needed / 1_048_576:.1f}", free=f"{free / 1_048_576:.1f}") from err
        raise ArtifactError(f"The model file '{path}' cannot be written ({err.strerror}). Check that the folder "
                            "exists and that the app may write to it.", code="artifact_unwritable",
                            path=str(path)) from err
    logger.info("saved model to %s (%d KB)", path, len(blob) // 1024)
    return hashlib.sha256(blob).hexdigest()


def load_model(path: str | Path, *, sha256: str) -> object:
    """Load a model saved by :func:`save_model`, after checking its hash and its types."""
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"The model file '{path}' is missing. Retrain the model, or promote another run.",
                            code="artifact_missing", path=str(path))
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != sha256:
        raise ArtifactError(f"The model file '{path}' was changed after it was saved (sha256 {digest[:12]}…, "
                            f"expected {sha256[:12]}…). It is not loaded; retrain the model.",
                            code="artifact_altered", path=str(path))
    unknown = sorted(set(sio.get_untrusted_types(data=blob)) - ALLOWED_TYPES)
    if unknown:
        raise ArtifactError(f"The model file '{path}' contains types that are not allowed: {unknown}. It is "
                            "not loaded; retrain the model with this version of Churn Radar.",
                            code="artifact_untrusted", path=str(path), types=unknown)
    return sio.loads(blob, trusted=sorted(ALLOWED_TYPES & set(sio.get_untrusted_types(data=blob))))
