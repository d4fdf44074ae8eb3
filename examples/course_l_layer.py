"""The course's cat classifier with ``chainrule.dlai``, step by step, as in the application assignment.

    python examples/course_l_layer.py --data path/to/datasets     # the course's HDF5 files
    python examples/course_l_layer.py                              # stand-in files in the same format

1. load the HDF5 files (``train_catvnoncat.h5``/``test_catvnoncat.h5``), flattened and scaled;
2. train the 4-layer model [LINEAR -> RELU] x 3 -> LINEAR -> SIGMOID, printing the cost every 100
   iterations, and draw the cost curve;
3. predict on the training and test sets and draw the mislabeled test images;
4. check the trained network's backward pass with chainrule's gradient checker (sampled);
5. hand the parameters to chainrule's layers and confirm both faces compute the same cost.

Figures are written to ``--out`` (default ``course_l_layer_output``). Without ``--data`` the script
writes stand-in files (64 x 64 RGB noise in which "cats" are a little warmer than "non-cats") so it
runs anywhere; with the course's files it reproduces the assignment.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from chainrule import BCEWithLogitsLoss, dlai


def write_stand_in_files(folder: Path, *, m_train: int = 209, m_test: int = 50, seed: int = 0) -> Path:
    """Course-format HDF5 files with random 64 x 64 x 3 uint8 images and 0/1 labels."""
    import h5py

    rng = np.random.default_rng(seed)
    classes = np.array([b"non-cat", b"cat"])
    for prefix, m in (("train", m_train), ("test", m_test)):
        y = (rng.random(m) < 0.35).astype(np.int64)
        tint = np.where(y[:, None], [128, 112, 96], [108, 112, 116])  # cats: a little warmer
        tint = tint + rng.normal(0, 14, size=(m, 3))  # and each photo's colour balance varies
        x = rng.normal(tint[:, None, None, :], 50, size=(m, 64, 64, 3))
        with h5py.File(folder / f"{prefix}_catvnoncat.h5", "w") as f:
            f.create_dataset(f"{prefix}_set_x", data=np.clip(x, 0, 255).astype(np.uint8))
            f.create_dataset(f"{prefix}_set_y", data=y)
            f.create_dataset("list_classes", data=classes)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="folder holding train_catvnoncat.h5 and test_catvnoncat.h5")
    parser.add_argument("--iterations", type=int, default=600,
                        help="gradient-descent iterations (the course runs 2500)")
    parser.add_argument("--learning-rate", type=float, default=0.0075)
    parser.add_argument("--out", type=Path, default=Path("course_l_layer_output"),
                        help="folder for the figures")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data or write_stand_in_files(Path(tmp))
        train_x, train_y, test_x, test_y, classes = dlai.load_data(folder)
    print(f"train_x {train_x.shape}, test_x {test_x.shape}, classes {[c.decode() for c in classes]}")

    layers_dims = [train_x.shape[0], 20, 7, 5, 1]  # the assignment's 4-layer model
    parameters, costs = dlai.L_layer_model(train_x, train_y, layers_dims, learning_rate=args.learning_rate,
                                           num_iterations=args.iterations, print_cost=True)
    args.out.mkdir(parents=True, exist_ok=True)
    dlai.plot_costs(costs, args.learning_rate, path=args.out / "costs.png")

    print("train set:", end=" ")
    dlai.predict(train_x, train_y, parameters)
    print("test set:", end=" ")
    pred_test = dlai.predict(test_x, test_y, parameters)
    dlai.print_mislabeled_images(classes, test_x, test_y, pred_test, max_images=8,
                                 path=args.out / "mislabeled.png")

    # A few examples and 40 sampled elements per gradient keep the numerical check to seconds.
    check = dlai.check_backward(parameters, test_x[:, :4], test_y[:, :4], sample=40)
    print(check)

    model = dlai.to_sequential(parameters, output=None)  # logits, for BCEWithLogitsLoss
    AL, _ = dlai.L_model_forward(test_x, parameters)
    course_cost = dlai.compute_cost(AL, test_y)
    chainrule_cost = BCEWithLogitsLoss().forward(model.forward(test_x.T), test_y.T.astype(np.float64))
    print(f"test cost: course face {course_cost:.12f}, chainrule layers {chainrule_cost:.12f}")
    print(f"figures written to {args.out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
