"""Leave-one-camera-out evaluation of the backbone's cell head on real fixed-camera frames, plus the web photos.

Every real fixed camera of the given folders is a group (a camera seen in two folders is one group: rm-w-mobo-c is in
both smoke-figlib-hpwren-sequences and smoke-hpwren-extra). For each camera X, a head is trained on every frame of the
other cameras and on the web photos, never on X, and then scores X's frames in time order: the cell probabilities go
through the detector's own k-of-n persistence (`persisted`) and on threshold, giving the first detection, its delay from
the labelled onset and the detections in the clear frames before it. The web photos are scored by k-fold (folds by a
hash of the file, the head of a fold trained without its photos, and on all cameras). `FoldModel.trained_on` names what
each head saw, so a test can check that the head scoring X never saw X.

The head (`CellHead`) is a logistic regression over per-cell features: the cell embedding and its difference from the
camera's background embedding (both reduced by a PCA fitted on the training rows) and the cosine change. A smoke frame
has no cell labels: its positives are the cells the head scores highest (multiple-instance learning, two rounds);
every cell of a clear frame or a negative photo is a negative.
"""
from __future__ import annotations

import csv
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression

from tichwatch.config.dust import DustSettings
from tichwatch.detectors.dust.backbone import HOLD_CHANGE, Backbone, BackboneHead, blend_background, cosine_change
from tichwatch.detectors.dust.detector import persisted
from tichwatch.tools.dust_embeddings import bytes_embeddings, file_embeddings
from tichwatch.tools.dust_synthetic import cell_labels, generate, random_spec
from tichwatch.tools.dust_train import DUST_LABELS

ROWS, COLS = 12, 16
"""The grid (the detector's default)."""
PCA_DIM = 32
"""Components kept of the embedding and of its difference from the background."""
MIL_TOP = 3
"""Cells of a smoke frame taken as its positives (those the head scores highest)."""
MIL_ROUNDS = 2
ON_THRESHOLD = 0.7
"""Cell probability (after persistence) that counts as a detection, as the detector's dust.on_threshold."""
PERSISTENCE_K, PERSISTENCE_N = 2, 3
BG_TAU_S, BG_HELD_TAU_S = DustSettings().background_time_constant_s, DustSettings().background_held_time_constant_s
WEB_FOLDS = 5
SYNTHETIC_SEEDS = range(0, 24)
"""Synthetic training sequences of the head (some of the hand model's TRAIN_SEEDS; evaluation seeds lie far above)."""
SYNTHETIC_WEIGHT = 0.1
"""Weight of a synthetic cell against a real one: synthetic scenes teach what a construction site's clouds, vehicles and
light look like, but at full weight (they are most of the rows) they pulled the head away from real plumes."""
POSITIVE_SHARE = 0.3
"""Total weight of positive cells relative to negative ones (false alarms cost more)."""


@dataclass
class Image:
    """One image: where it comes from, its label and its cell features once computed."""

    path: Path
    group: str  # camera id, or "web"
    sequence: str  # the run of frames a background is kept over (a camera may have several, days apart)
    ts: float | None
    smoke: bool
    emb: np.ndarray | None = None  # (cells, 1280)
    diff: np.ndarray | None = None  # (cells, 1280) embedding minus background (zeros when there is none)
    change: np.ndarray | None = None  # (cells,) cosine change (zeros when there is no background)
    labels: np.ndarray | None = None  # (cells,) 1 dust, 0 clear, -1 unsure: known for synthetic frames only
    data: bytes | None = None  # encoded frame when it is not a file (synthetic)


@dataclass(frozen=True)
class FoldModel:
    """A head and the groups (cameras, "web") whose images it was trained on."""

    head: BackboneHead
    trained_on: frozenset[str]

    def predict(self, im: Image) -> np.ndarray:
        """Dust probability per cell of an embedded image."""
        assert im.emb is not None and im.diff is not None and im.change is not None
        return self.head.predict(im.emb, im.diff, im.change)


def read_images(folders: Sequence[Path], web: Path | None) -> list[Image]:
    """The labelled images of camera folders (frames.csv with a camera column) and of a web-photo folder."""
    out: list[Image] = []
    for folder in folders:
        with open(folder / "frames.csv", newline="") as fh:
            for r in csv.DictReader(fh):
                camera = (r.get("camera") or "").split(" ")[0]
                ts = float(r["epoch_s"]) if r.get("epoch_s") else None
                out.append(Image(folder / r["path"], camera, r.get("sequence") or camera, ts,
                                 r["label"] in DUST_LABELS))
    if web is not None:
        with open(web / "frames.csv", newline="") as fh:
            for r in csv.DictReader(fh):
                out.append(Image(web / r["path"], "web", "web", None, r["label"] in DUST_LABELS))
    return out


def synthetic_images(seeds: Sequence[int]) -> list[Image]:
    """Frames of synthetic sequences (tools/dust_synthetic.py) with their exact cell labels: plumes, and clouds,
    shadows, vehicles, rain and light changes as negatives."""
    out = []
    for seed in seeds:
        for f in generate(random_spec(seed)):
            labels = cell_labels(f.plume_change, ROWS, COLS).ravel()
            out.append(Image(Path(f"synthetic/{seed}/{f.ts:.0f}.jpg"), "synthetic", f"synthetic {seed}", f.ts,
                             bool((labels == 1).any()), labels=labels, data=f.jpeg))
    return out


def embed(images: list[Image], backbone: Backbone) -> None:
    """Cell embeddings of every image; per sequence, in time order, the difference from its running background."""
    for im in images:
        im.emb = file_embeddings(im.path, backbone, ROWS, COLS) if im.data is None \
            else bytes_embeddings(im.data, backbone, ROWS, COLS)
        im.diff = np.zeros_like(im.emb)
        im.change = np.zeros(im.emb.shape[0], np.float32)
    for sequence in sorted({im.sequence for im in images} - {"web"}):  # photos have no background
        frames = sorted((im for im in images if im.sequence == sequence), key=_order)
        bg: np.ndarray | None = None
        last: float | None = None
        for im in frames:
            assert im.emb is not None
            if bg is not None:
                im.diff = im.emb - bg
                im.change = cosine_change(im.emb, bg)
            assert im.change is not None
            dt = 60.0 if last is None or im.ts is None else im.ts - last
            bg = blend_background(bg, im.emb, im.change > HOLD_CHANGE, dt, BG_TAU_S, BG_HELD_TAU_S)
            last = im.ts


def _order(im: Image) -> tuple[float, str]:
    return (im.ts if im.ts is not None else float("inf"), im.path.name)


def fit_head(train: list[Image], seed: int = 0) -> FoldModel:
    """Train a head on these images (multiple-instance positives from smoke frames), reproducibly."""
    emb = np.concatenate([im.emb for im in train if im.emb is not None])
    diff = np.concatenate([im.diff for im in train if im.diff is not None])
    change = np.concatenate([im.change for im in train if im.change is not None])
    cells = ROWS * COLS
    frame_of = np.repeat(np.arange(len(train)), cells)
    smoke = np.array([im.smoke for im in train])[frame_of]
    has_labels = np.array([im.labels is not None for im in train])[frame_of]
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(emb), size=min(len(emb), 20000), replace=False)
    pca_emb = PCA(PCA_DIM, random_state=seed).fit(emb[sample])
    pca_diff = PCA(PCA_DIM, random_state=seed).fit(diff[sample])
    f32 = np.float32
    head = BackboneHead(pca_emb.mean_.astype(f32), pca_emb.components_.astype(f32), pca_diff.mean_.astype(f32),
                        pca_diff.components_.astype(f32), np.zeros(2 * PCA_DIM + 1, f32), 0.0)
    x = head.inputs(emb, diff, change)
    # first guess of a smoke frame's plume cells: those that changed most against the background (camera frames) or
    # differ most from the frame's mean look (photos, which have no background)
    mean = emb.reshape(len(train), cells, -1).mean(axis=1)[frame_of]
    score = change + 1e-3 * np.linalg.norm(emb - mean, axis=1)
    clf = LogisticRegression()
    for _ in range(MIL_ROUNDS):
        y = np.zeros(len(x), np.int8)
        top = np.argsort(-score.reshape(len(train), cells), axis=1, kind="stable")[:, :MIL_TOP]
        known = np.ones(len(x), bool)
        for i, im in enumerate(train):
            if im.labels is not None:  # synthetic: the cells are known
                y[i * cells:(i + 1) * cells] = im.labels == 1
                known[i * cells:(i + 1) * cells] = im.labels >= 0
            elif im.smoke:
                y[i * cells + top[i]] = 1
        keep = known & ((~smoke) | (y == 1) | has_labels)  # the other cells of a real smoke frame are unknown
        w = np.where(y[keep] == 1, (y[keep] == 0).sum() / max(int(y[keep].sum()), 1) * POSITIVE_SHARE, 1.0)
        w = w * np.where(has_labels[keep], SYNTHETIC_WEIGHT, 1.0)
        clf = LogisticRegression(C=0.1, max_iter=1000).fit(x[keep], y[keep], sample_weight=w)
        score = clf.decision_function(x)
    groups = sorted({im.group for im in train})
    head = BackboneHead(head.emb_mean, head.emb_axes, head.diff_mean, head.diff_axes, clf.coef_[0].astype(f32),
                        float(clf.intercept_[0]), {"trained_on": ",".join(groups), "seed": str(seed),
                                                   "images": str(len(train))})
    return FoldModel(head, frozenset(groups))


@dataclass
class CameraResult:
    """How the head that never saw a camera did on it."""

    camera: str
    sequence: str
    frames: int
    clear_frames: int
    smoke_frames: int
    detected: bool
    delay_min: float | None  # from the first smoke-labelled frame to the first detection
    false_before_onset: int  # detections in clear frames before the onset
    max_clear: float  # highest dust index (after persistence) in a clear frame
    max_clear_raw: float  # highest cell probability (before persistence) in a clear frame
    max_smoke: float
    trained_on: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dict(self.__dict__)


def score_sequence(model: FoldModel, frames: list[Image]) -> CameraResult:
    """Run a sequence's frames, in time order, through a head and the k-of-n persistence."""
    frames = sorted(frames, key=_order)
    history: list[np.ndarray] = []
    first: float | None = None
    onset = next((im.ts for im in frames if im.smoke), None)
    false = 0
    max_clear = max_raw = max_smoke = 0.0
    detected = False
    for im in frames:
        p = model.predict(im).reshape(ROWS, COLS).astype(np.float32)
        cells = persisted(p, history, PERSISTENCE_K)
        history = [*history, cv2.dilate(p, np.ones((3, 3), np.uint8))][-(PERSISTENCE_N - 1):]
        index = float(cells.max())
        if im.smoke:
            max_smoke = max(max_smoke, index)
        else:
            max_clear, max_raw = max(max_clear, index), max(max_raw, float(p.max()))
        if index >= ON_THRESHOLD:
            if im.smoke and not detected:
                detected = True
                if onset is not None and im.ts is not None:
                    first = (im.ts - onset) / 60.0
            elif not im.smoke and not detected:
                false += 1
    return CameraResult(frames[0].group, frames[0].sequence, len(frames), sum(not f.smoke for f in frames),
                        sum(f.smoke for f in frames), detected, None if first is None else round(first, 1), false,
                        round(max_clear, 3), round(max_raw, 3), round(max_smoke, 3), sorted(model.trained_on))


def web_fold(path: Path) -> int:
    """The fold of a web photo: a hash of its name (stable across runs)."""
    return zlib.crc32(path.name.encode() + path.parent.name.encode()) % WEB_FOLDS


def evaluate(images: list[Image], seed: int = 0) -> dict[str, Any]:
    """Leave-one-camera-out over the cameras and k-fold over the web photos."""
    cameras = sorted({im.group for im in images} - {"web", "synthetic"})
    results = []
    for camera in cameras:
        model = fit_head([im for im in images if im.group != camera], seed)
        assert camera not in model.trained_on
        for sequence in sorted({im.sequence for im in images if im.group == camera}):
            results.append(score_sequence(model, [im for im in images if im.sequence == sequence]))
    web = [im for im in images if im.group == "web"]
    tp = fp = fn = tn = 0
    for fold in range(WEB_FOLDS):
        test = [im for im in web if web_fold(im.path) == fold]
        if not test:
            continue
        model = fit_head([im for im in images if not (im.group == "web" and web_fold(im.path) == fold)], seed)
        for im in test:
            flagged = float(model.predict(im).max()) >= ON_THRESHOLD
            tp, fp = tp + (flagged and im.smoke), fp + (flagged and not im.smoke)
            fn, tn = fn + (not flagged and im.smoke), tn + (not flagged and not im.smoke)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    delays = sorted(r.delay_min for r in results if r.delay_min is not None)
    return {"cameras": [r.as_dict() for r in results], "delays_min": delays,
            "web": {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": round(precision, 3),
                    "recall": round(recall, 3), "f1": round(f1, 3)},
            }


CAMERA_FOLDERS = ("smoke-figlib-hpwren-sequences", "smoke-hpwren-extra")
"""Sub-folders of the shared data folder holding fixed-camera frames (grouped by camera across folders)."""
PHOTO_FOLDER = "smoke-web-photos"
"""Sub-folder of single web photos (smoke and hard negatives)."""


def evaluate_folder(data: Path, seed: int = 0, synthetic: Sequence[int] = SYNTHETIC_SEEDS) -> dict[str, Any]:
    """`tichwatch eval dust DATA --loco`: embed (cached) and evaluate everything found under DATA."""
    cameras = [data / name for name in CAMERA_FOLDERS if (data / name / "frames.csv").is_file()]
    photos = data / PHOTO_FOLDER if (data / PHOTO_FOLDER / "frames.csv").is_file() else None
    if not cameras:
        raise FileNotFoundError(f"{data}: none of {', '.join(CAMERA_FOLDERS)} found")
    images = read_images(cameras, photos) + synthetic_images(synthetic)
    embed(images, Backbone())
    report = evaluate(images, seed)
    report["folders"] = [c.name for c in cameras] + ([photos.name] if photos else [])
    report["synthetic_training_seeds"] = [min(synthetic), max(synthetic) + 1] if synthetic else []
    return report


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of a leave-one-camera-out report."""
    head = f"{'camera':<18} {'sequence':<30} {'clear':>5} {'smoke':>5} {'detected':>8} {'delay':>8} {'false':>5} " \
           f"{'maxclear':>8}"
    lines = ["dust leave-one-camera-out (each camera scored by a head trained without it)", head, "-" * len(head)]
    for c in report["cameras"]:
        delay = "-" if c["delay_min"] is None else f"{c['delay_min']:.1f}min"
        lines.append(f"{c['camera']:<18} {c['sequence'][:30]:<30} {c['clear_frames']:>5} {c['smoke_frames']:>5} "
                     f"{'yes' if c['detected'] else 'NO':>8} {delay:>8} {c['false_before_onset']:>5} "
                     f"{c['max_clear_raw']:>8.2f}")
    w = report["web"]
    lines += ["-" * len(head), f"delays (min): {report['delays_min']}",
              f"web photos ({WEB_FOLDS}-fold): P {w['precision']:.2f} R {w['recall']:.2f} F1 {w['f1']:.2f} "
              f"(tp {w['tp']} fp {w['fp']} fn {w['fn']} tn {w['tn']})"]
    return "\n".join(lines)
