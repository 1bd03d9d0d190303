import gzip
import logging
import re

import numpy as np
import pytest
from PIL import Image

from fer_classic.data import DatasetError, load_dataset, read_image
from fer_classic.data.labels import FER2013_CLASSES, canonical_class_name

from .conftest import write_fer_csv, write_images


@pytest.mark.parametrize("raw, expected", [
    ("anger", "angry"), ("Happiness", "happy"), ("SADNESS", "sad"), ("surprised", "surprise"),
    ("fearful", "fear"), ("disgusted", "disgust"), ("NE", "neutral"), ("AF", "fear"), ("3", "happy"),
    ("contempt", None), ("9", None),
])
def test_class_synonyms_map_onto_fer2013(raw, expected):
    assert canonical_class_name(raw) == expected


def test_embedded_sample_is_a_stratified_tenth_of_fer2013(sample):
    assert sample.layout == "split"
    assert sample.images.shape == (3233, 48, 48) and sample.images.dtype == np.uint8
    assert sample.class_names == FER2013_CLASSES
    assert sample.usage_counts() == {"PublicTest": 361, "Training": 2872}
    counts = sample.class_counts()
    assert counts["happy"] == 812 and counts["disgust"] == 50
    # Usage comes from the file-name prefix, the label from the class folder.
    i = list(sample.ids).index(next(x for x in sample.ids if x.startswith("train/sad/")))
    assert sample.usage[i] == "Training" and sample.class_names[sample.labels[i]] == "sad"


def test_split_folders_without_prefixes_take_usage_from_the_folder(tmp_path, faces):
    root = tmp_path / "plain"
    write_images(root / "train" / "happy", faces[12:14], prefix="a")
    write_images(root / "test" / "happy", faces[14:15], prefix="b")
    ds = load_dataset(root, n_jobs=1)
    assert sorted(ds.usage) == ["PublicTest", "Training", "Training"]
    # With a validation folder beside it, test/ is the final (PrivateTest) split.
    write_images(root / "val" / "sad", faces[16:17], prefix="c")
    ds = load_dataset(root, n_jobs=1)
    assert dict(zip(ds.ids, ds.usage)) == {"test/happy/b_0.png": "PrivateTest", "train/happy/a_0.png": "Training",
                                           "train/happy/a_1.png": "Training", "val/sad/c_0.png": "PublicTest"}


def test_split_folder_pixels_equal_the_files(split_folders, faces):
    ds = load_dataset(split_folders, n_jobs=1)
    assert len(ds) == 21 and ds.layout == "split"
    i = list(ds.ids).index("train/happy/Training_1.png")
    assert np.array_equal(ds.images[i], faces[13])
    assert ds.labels[i] == FER2013_CLASSES.index("happy")


def test_class_folders_with_synonyms_colour_sizes_and_an_extra_class(class_folders, caplog):
    with caplog.at_level(logging.WARNING):
        ds = load_dataset(class_folders, n_jobs=2)
    assert ds.layout == "classes"
    assert ds.class_names == FER2013_CLASSES + ("contempt",)
    assert "contempt" in caplog.text
    # One colour image among grayscale ones follows the majority, and the warning names it; the 96x96
    # jpgs are the odd size out (most are 48x48), named too.
    assert ds.images.shape == (12, 48, 48)
    assert "1 of 12 images are colour" in caplog.text and "surprised/img_0.png" in caplog.text
    assert re.search(r"resizing \d+ to the most common, 48x48: \S+\.jpg", caplog.text)
    assert ds.class_counts() == {"angry": 3, "disgust": 0, "fear": 0, "happy": 3, "sad": 3, "surprise": 1,
                                 "neutral": 0, "contempt": 2}
    assert set(ds.usage) == {""} and not ds.has_usage


def test_classes_option_drops_the_others(class_folders):
    ds = load_dataset(class_folders, classes=["happy", "sadness"], n_jobs=1)
    assert ds.class_names == FER2013_CLASSES  # contempt left out, not merged
    assert sorted(ds.class_counts()[c] for c in ("happy", "sad")) == [3, 3] and len(ds) == 6
    assert ds.images.shape == (6, 48, 48)  # no colour left: grayscale; 48 and 96 tie, the smaller wins


def test_size_option_resizes_everything(class_folders):
    ds = load_dataset(class_folders, size=(32, 32), n_jobs=1)
    assert ds.images.shape[1:3] == (32, 32)


def test_corrupt_image_is_skipped_with_a_warning_naming_it(split_folders, caplog):
    bad = split_folders / "train" / "fear" / "Training_broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    truncated = split_folders / "test" / "sad" / "PublicTest_cut.jpg"
    Image.open(split_folders / "train" / "sad" / "Training_0.png").convert("RGB").save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:100])
    with caplog.at_level(logging.WARNING):
        ds = load_dataset(split_folders, n_jobs=1)
    assert len(ds) == 21
    assert {s["file"] for s in ds.skipped} == {"train/fear/Training_broken.png", "test/sad/PublicTest_cut.jpg"}
    assert "Training_broken.png" in caplog.text
    with pytest.raises(DatasetError, match=r"PublicTest_cut.jpg: unreadable image \(OSError"):
        load_dataset(split_folders, strict=True, n_jobs=1)


def test_exif_orientation_is_respected(tmp_path):
    im = np.zeros((20, 40), dtype=np.uint8)
    im[:, :10] = 255  # bright band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    Image.fromarray(im).save(tmp_path / "r.jpg", exif=exif, quality=100)
    out = read_image(tmp_path / "r.jpg")
    assert out.shape == (40, 20)
    assert out[:10].mean() > 200 and out[-10:].mean() < 50  # the band is now on top


def test_16_bit_and_palette_images_read_as_uint8(tmp_path):
    Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)).save(tmp_path / "a.png")
    Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16)).convert("P").save(tmp_path / "b.png")
    for name in ("a.png", "b.png"):
        out = read_image(tmp_path / name)
        assert out.dtype == np.uint8 and out.ndim == 2 and out.max() > 200


def test_csv_round_trip_plain_and_gzipped(fer_csv, faces, tmp_path):
    ds = load_dataset(fer_csv)
    assert ds.layout == "csv" and ds.images.shape == (28, 48, 48)
    assert np.array_equal(ds.images, faces)
    assert list(ds.labels) == list(np.repeat(np.arange(7), 4))
    assert ds.usage_counts() == {"PrivateTest": 7, "PublicTest": 7, "Training": 14}
    assert ds.ids[0] == "fer2013.csv:2"  # line numbers, the header being line 1
    gz = tmp_path / "copy.csv.gz"
    gz.write_bytes(gzip.compress(fer_csv.read_bytes()))
    assert load_dataset(gz).fingerprint().startswith("sha256:")
    assert np.array_equal(load_dataset(gz).images, ds.images)


def _bad_csv(tmp_path, faces, mutate):
    rows = [[0, " ".join(map(str, faces[0].ravel())), "Training"],
            [3, " ".join(map(str, faces[1].ravel())), "PublicTest"]]
    mutate(rows)
    path = tmp_path / "bad.csv"
    path.write_text("emotion,pixels,Usage\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


@pytest.mark.parametrize("mutate, message", [
    (lambda rows: rows[1].__setitem__(1, rows[1][1] + " 7"), "line 3: 2305 pixels, expected 2304"),
    (lambda rows: rows[1].__setitem__(0, 9), "line 3: unknown label '9'"),
    (lambda rows: rows[0].__setitem__(0, ""), "line 2: unknown label ''"),
    (lambda rows: rows[1].__setitem__(2, "Validation"), "line 3: unknown Usage 'Validation'"),
    (lambda rows: rows[1].__setitem__(1, rows[1][1].replace(" ", " x ", 1)), "line 3: pixels must be whole"),
    (lambda rows: rows[0].__setitem__(1, rows[0][1].replace("", "", 0) + " 300"), "line 2: 2305 pixels"),
    (lambda rows: rows[0].__setitem__(1, "1 2 3"), "line 2: 3 pixels is not a square"),
    (lambda rows: rows[1].pop(), "line 3: expected 3 columns"),
])
def test_malformed_csv_rows_name_the_line(tmp_path, faces, mutate, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset(_bad_csv(tmp_path, faces, mutate))


def test_csv_pixel_out_of_range(tmp_path):
    (tmp_path / "f.csv").write_text("emotion,pixels,Usage\n1,0 0 0 256,Training\n")
    with pytest.raises(DatasetError, match="line 2: pixel values must lie in 0..255"):
        load_dataset(tmp_path / "f.csv")


def test_csv_with_wrong_columns_or_no_rows(tmp_path):
    (tmp_path / "a.csv").write_text("label,image\n1,0 0 0 0\n")
    with pytest.raises(DatasetError, match="expected the columns emotion,pixels"):
        load_dataset(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("emotion,pixels,Usage\n")
    with pytest.raises(DatasetError, match="no data rows"):
        load_dataset(tmp_path / "b.csv")


@pytest.mark.parametrize("make", [
    lambda p: p.mkdir(),                                            # empty folder
    lambda p: (p / "happy").mkdir(parents=True),                    # class folder with nothing in it
    lambda p: (p.mkdir(), (p / "readme.txt").write_text("hi")),     # no images at all
])
def test_empty_or_non_dataset_folders_say_what_was_expected(tmp_path, make):
    root = tmp_path / "d"
    make(root)
    with pytest.raises(DatasetError, match="expected a FER2013 CSV file .* split folders .* class folders"):
        load_dataset(root)


def test_missing_path_and_non_dataset_file(tmp_path):
    with pytest.raises(DatasetError, match="no such file or folder"):
        load_dataset(tmp_path / "nope")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DatasetError, match="not a dataset"):
        load_dataset(tmp_path / "x.json")


def test_all_images_unreadable(tmp_path):
    (tmp_path / "happy").mkdir()
    (tmp_path / "happy" / "a.png").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="none of the 1 image files could be read"):
        load_dataset(tmp_path)


def test_fingerprint_is_stable_and_sees_every_change(split_folders):
    a = load_dataset(split_folders, n_jobs=1)
    assert a.fingerprint() == load_dataset(split_folders, n_jobs=2).fingerprint()
    b = a.subset(np.arange(len(a)))
    b.labels = b.labels.copy()
    b.labels[0] = (b.labels[0] + 1) % 7
    assert b.fingerprint() != a.fingerprint()
    c = a.subset(np.arange(len(a)))
    c.images = c.images.copy()
    c.images[0, 0, 0] ^= 1
    assert c.fingerprint() != a.fingerprint()


def test_csv_and_folders_of_the_same_images_agree(tmp_path, faces):
    labels, usages = np.repeat(np.arange(7), 4), ["Training"] * 28
    ds_csv = load_dataset(write_fer_csv(tmp_path / "x.csv", faces, labels, usages))
    root = tmp_path / "f"
    for c, name in enumerate(FER2013_CLASSES):
        write_images(root / "train" / name, faces[4 * c:4 * c + 4], prefix="Training")
    ds_dir = load_dataset(root, n_jobs=1)
    assert np.array_equal(np.sort(ds_csv.images.reshape(28, -1), axis=0), np.sort(ds_dir.images.reshape(28, -1), axis=0))
    assert sorted(ds_csv.labels) == sorted(ds_dir.labels)


@pytest.mark.fer2013
def test_full_fer2013_loads_with_its_documented_counts(full_fer2013):
    ds = load_dataset(full_fer2013, progress=False)
    assert len(ds) in (28709 + 3589, 28709 + 2 * 3589)
    assert ds.usage_counts()["Training"] == 28709 and ds.usage_counts()["PublicTest"] == 3589
    train = ds.subset(ds.usage == "Training")
    assert train.class_counts() == {"angry": 3995, "disgust": 436, "fear": 4097, "happy": 7215, "sad": 4830,
                                    "surprise": 3171, "neutral": 4965}
    assert not ds.skipped


@pytest.mark.fer2013
def test_full_fer2013_train_and_test_images_are_processed_alike(full_fer2013):
    """An earlier copy of this dataset had smoothed training images, which put every gradient
    descriptor near chance on test: mean, contrast and gradient energy must agree across splits."""
    ds = load_dataset(full_fer2013)
    stats = {}
    for usage in ("Training", "PublicTest"):
        ims = ds.images[ds.usage == usage].astype(np.float64)
        gradient = np.abs(np.diff(ims, axis=2)).mean()
        stats[usage] = np.array([ims.mean(), ims.std(axis=(1, 2)).mean(), gradient])
    assert np.allclose(stats["Training"], stats["PublicTest"], rtol=0.05), stats
