"""Draw the embedded sample: a seeded, stratified 10% of each split and class of FER2013.

    python data/make_sample.py ../shared/datasets/fer2013 data/fer2013-sample

Files are copied unchanged, keeping the split-folder layout and the Usage prefix of their names.
"""

import random
import shutil
import sys
from pathlib import Path

FRACTION = 0.10
SEED = 2013


def main(source: str, target: str) -> None:
    source, target = Path(source), Path(target)
    rng = random.Random(SEED)
    for split in sorted(p for p in source.iterdir() if p.is_dir()):
        for class_dir in sorted(p for p in split.iterdir() if p.is_dir()):
            files = sorted(class_dir.iterdir())
            chosen = sorted(rng.sample(files, max(1, round(FRACTION * len(files)))))
            out = target / split.name / class_dir.name
            out.mkdir(parents=True, exist_ok=True)
            for f in chosen:
                shutil.copyfile(f, out / f.name)
            print(f"{split.name}/{class_dir.name}: {len(chosen)} of {len(files)}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
