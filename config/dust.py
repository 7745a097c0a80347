"""Dust detector settings (the `dust:` block of the deployment file)."""
from __future__ import annotations

from pydantic import Field, model_validator

from tichwatch.config.base import StrictModel


class DustSettings(StrictModel):
    """Tuning of the dust-plume and camera-health detectors."""

    analysis_width_px: int = Field(320, ge=64, le=1280, description="Size frames are analysed at, pixels: the long "
                                   "side (the width of a landscape frame); larger frames are decoded at a reduced JPEG "
                                   "scale and resized to it (aspect kept).")
    backbone: bool = Field(False, description="Score cells with the pretrained image backbone (EfficientNet-Lite0, "
                           "detectors/dust/backbone.onnx, run by OpenCV) as well as the hand-made features: a cell's "
                           "dust probability is the larger of the two. About 0.1-0.3 s more per frame on one core. "
                           "Off by default: with it, synthetic construction scenes raise false detections "
                           "(synthetic F1 0.68 against 0.95 without; README, dust detection; docs/dust-transfer.md).")
    grid_cols: int = Field(16, ge=2, le=64, description="Columns of the grid of cells the dust index is computed for.")
    grid_rows: int = Field(12, ge=2, le=64, description="Rows of the grid of cells the dust index is computed for.")
    roi_min_cell_fraction: float = Field(0.5, gt=0, le=1, description="A cell counts when at least this fraction of "
                                         "it lies inside the camera's region of interest.")
    on_threshold: float = Field(0.7, gt=0, lt=1, description="Dust index (0..1) at or above which a dust detection "
                                "is raised (divided by the camera's sensitivity).")
    off_threshold: float = Field(0.4, gt=0, lt=1, description="Dust index below which a frame counts towards clearing "
                                 "(divided by the camera's sensitivity); below on_threshold for hysteresis.")
    persistence_k: int = Field(2, ge=1, description="Frames, among the last persistence_n, in which a cell or its "
                               "neighbour must show dust for the cell's index to count: a plume stays where it rose, "
                               "a truck or a gust does not.")
    persistence_n: int = Field(3, ge=1, description="Window of recent frames for the k-of-n persistence rule, frames.")
    clear_frames: int = Field(3, ge=1, description="Consecutive frames below off_threshold that clear a dust "
                              "detection.")
    background_time_constant_s: float = Field(600.0, gt=0, description="Time constant of the per-camera background "
                                              "model (exponential average of unchanged cells), seconds.")
    background_hold_change: float = Field(0.03, gt=0, le=1, description="Largest sub-block change (fraction of full "
                                          "scale) above which a cell is held back from the background: a plume must "
                                          "not become background while it is being judged.")
    background_held_time_constant_s: float = Field(1800.0, gt=0, description="Time constant at which held-back cells "
                                                   "still blend into the background, seconds (so a parked machine or a "
                                                   "lasting change is absorbed eventually).")
    background_warmup_frames: int = Field(3, ge=1, description="Frames whose median starts a fresh background "
                                          "before dust is judged against it (after start, darkness, a gap or a "
                                          "re-learned view).")
    dark_luma_max: float = Field(30.0, ge=0, le=255, description="Median luma (0..255) at or below which a frame is "
                                 "too dark: camera.dark, and dust detection suspends itself.")
    dark_clear_luma_min: float = Field(40.0, ge=0, le=255, description="Median luma (0..255) a frame needs to count "
                                       "as light again (hysteresis above dark_luma_max).")
    frozen_frames: int = Field(5, ge=2, description="Consecutive identical frames that raise camera.frozen, frames.")
    frozen_diff_max: float = Field(0.1, ge=0, description="Mean absolute luma difference (0..255) of the sub-block "
                                   "means to the previous frame at or below which a frame counts as identical (a "
                                   "live camera's sensor noise alone stays above it).")
    offline_factor: float = Field(3.0, gt=1, description="camera.offline when no frame arrived for this many times the "
                                  "camera's expected_interval_s.")
    blur_sharpness_ratio_max: float = Field(0.5, gt=0, lt=1, description="camera.blur when the frame's sharpness "
                                            "(edge energy per unit of contrast) falls below this fraction of the "
                                            "background's.")
    obstructed_contrast_max: float = Field(4.0, ge=0, description="A cell is featureless when its luma standard "
                                           "deviation (0..255) is at or below this while the background's was not.")
    obstructed_fraction_min: float = Field(0.5, gt=0, le=1, description="camera.obstructed when at least this fraction "
                                           "of the textured cells turned featureless.")
    moved_match_min: float = Field(0.65, gt=-1, lt=1, description="camera.moved when the correlation of the frame's "
                                   "edge map with the background's falls below this.")
    moved_relearn_frames: int = Field(30, ge=0, description="Frames a moved view persists before it is learned as the "
                                      "new background and camera.moved clears; 0 keeps waiting for the old view.")
    health_raise_frames: int = Field(2, ge=1, description="Consecutive frames a blur, obstructed, moved or dark "
                                     "condition must hold before its detection is raised.")
    health_clear_frames: int = Field(2, ge=1, description="Consecutive frames without the condition before a camera "
                                     "health detection clears.")
    evidence_context_frames: int = Field(4, ge=0, le=16, description="JPEG frames up to a dust onset kept as context "
                                         "evidence, frames.")
    evidence_width_px: int = Field(640, ge=160, le=2048, description="Width of the annotated evidence snapshot, "
                                   "pixels.")
    evidence_jpeg_quality: int = Field(85, ge=30, le=100, description="JPEG quality of the evidence snapshot (0..100).")

    @model_validator(mode="after")
    def _consistent(self) -> DustSettings:
        if self.off_threshold >= self.on_threshold:
            raise ValueError("off_threshold must be below on_threshold")
        if self.persistence_k > self.persistence_n:
            raise ValueError("persistence_k must not exceed persistence_n")
        if self.dark_clear_luma_min < self.dark_luma_max:
            raise ValueError("dark_clear_luma_min must not be below dark_luma_max")
        return self
