"""Generate src/chainrule/data/digits.npz from scikit-learn's bundled copy of the UCI optical digits.

Run once by the maintainers (``python scripts/make_digits.py``); the package ships the result, so
users need neither scikit-learn nor a download. The file holds ``images`` (1797, 8, 8) uint8 in
0..16 and ``target`` (1797,) uint8, in scikit-learn's order, and nothing that needs pickling.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parents[1] / "src" / "chainrule" / "data" / "digits.npz"


def main() -> None:
    digits = load_digits()
    images = digits.images.astype(np.uint8)
    target = digits.target.astype(np.uint8)
    if not (np.array_equal(images, digits.images) and np.array_equal(target, digits.target)):
        raise SystemExit("the digits do not fit in uint8 exactly; refusing to write a lossy copy")
    np.savez_compressed(OUT, images=images, target=target)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): images {images.shape}, target {target.shape}")


if __name__ == "__main__":
    main()
