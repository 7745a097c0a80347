"""Settings of the per-camera learning loop (the `learning:` block of the deployment file)."""
from __future__ import annotations

from pydantic import Field

from tichwatch.config.base import StrictModel


class LearningSettings(StrictModel):
    """Labels, per-camera adaptation and the learning period of new cameras."""

    period_frames: int = Field(60, ge=0, le=100_000, description="Clear frames (judged, dust index below the "
                               "camera's threshold) a new camera must see before it raises dust alerts: its learning "
                               "period; 0 = no learning period.")
    period_min_hours: float = Field(1.0, ge=0, le=24 * 30, description="Shortest learning period, hours from the "
                                    "first judged frame (so one busy minute cannot end it).")
    labels_per_camera: int = Field(500, ge=10, le=20_000, description="Labelled frames kept per camera; the oldest "
                                   "go first when more are added.")
    label_jpeg_max_bytes: int = Field(1_048_576, ge=0, le=8_388_608, description="Largest JPEG kept with a label, "
                                      "bytes (a larger frame keeps its feature rows only).")
    retrain_after_labels: int = Field(10, ge=0, le=10_000, description="New labels of a camera that start a "
                                      "retraining on their own; 0 = only when an officer asks (train now).")
    min_labelled_frames: int = Field(2, ge=1, le=1000, description="Fewest labelled frames of a camera a model is "
                                     "trained on.")
    l2: float = Field(0.05, gt=0, le=1000, description="Regularisation of the per-camera correction (larger keeps "
                      "it nearer the shipped model).")
    reference_weight: float = Field(1.0, ge=0, le=100, description="Weight of the reference set (synthetic scenes "
                                    "through the detector) against the camera's own rows, so a camera's model does "
                                    "not forget what the shipped one knows.")
    reference_tolerance: float = Field(0.02, ge=0, le=0.5, description="A new model goes into service only when its "
                                       "F1 on the held-out reference set is at least the shipped model's minus this.")
    reference_seeds: int = Field(8, ge=2, le=200, description="Synthetic sequences rendered for the reference set "
                                 "(computed once per feature set and cached in the data directory).")
