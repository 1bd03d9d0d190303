"""VLFeat's dense SIFT in NumPy (``features.dsift``), compared with VLFeat's own C library where it is
installed (Debian's ``libvlfeat1``: ``.ci/run`` installs it), and the bag of words built on it."""

import ctypes
import ctypes.util

import numpy as np
import pytest

from fer_classic.features import BoVWDescriptor, dsift


def _libvl():
    try:
        return ctypes.CDLL(ctypes.util.find_library("vl") or "libvl.so.1")
    except OSError:
        return None


LIBVL = _libvl()
needs_vlfeat = pytest.mark.skipif(LIBVL is None, reason="VLFeat's C library (Debian's libvlfeat1) is not installed")


class _Geometry(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int) for n in ("numBinT", "numBinX", "numBinY", "binSizeX", "binSizeY")]


class _Keypoint(ctypes.Structure):
    _fields_ = [(n, ctypes.c_double) for n in ("x", "y", "s", "norm")]


class _DsiftFilter(ctypes.Structure):  # VlDsiftFilter of vl/dsift.h, VLFeat 0.9.21, up to the descriptors
    _fields_ = [*[(n, ctypes.c_int) for n in ("imWidth", "imHeight", "stepX", "stepY", "boundMinX", "boundMinY",
                                              "boundMaxX", "boundMaxY")],
                ("geom", _Geometry), ("useFlatWindow", ctypes.c_int), ("windowSize", ctypes.c_double),
                ("numFrames", ctypes.c_int), ("descrSize", ctypes.c_int), ("frames", ctypes.POINTER(_Keypoint)),
                ("descrs", ctypes.POINTER(ctypes.c_float))]


def _floats(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def _vl_smooth(image, sigma):
    f = LIBVL.vl_imsmooth_f
    f.argtypes = [ctypes.POINTER(ctypes.c_float), ctypes.c_size_t, ctypes.POINTER(ctypes.c_float),
                  ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_double, ctypes.c_double]
    image = np.ascontiguousarray(image, dtype=np.float32)
    out = np.empty_like(image)
    h, w = image.shape
    f(_floats(out), w, _floats(image), w, h, w, sigma, sigma)
    return out


def _vl_dsift(image, *, bin_size, step, bound):
    """vl_dsift with a flat window of size 1.5 (vl_phow's settings): descriptors and (x, y, contrast) per frame."""
    LIBVL.vl_dsift_new_basic.restype = ctypes.POINTER(_DsiftFilter)
    LIBVL.vl_dsift_new_basic.argtypes = [ctypes.c_int] * 4
    LIBVL.vl_dsift_process.argtypes = [ctypes.POINTER(_DsiftFilter), ctypes.POINTER(ctypes.c_float)]
    LIBVL._vl_dsift_update_buffers.argtypes = [ctypes.POINTER(_DsiftFilter)]
    LIBVL.vl_dsift_delete.argtypes = [ctypes.POINTER(_DsiftFilter)]
    image = np.ascontiguousarray(image, dtype=np.float32)
    h, w = image.shape
    filt = LIBVL.vl_dsift_new_basic(w, h, step, bin_size)
    try:
        filt.contents.useFlatWindow, filt.contents.windowSize = 1, 1.5
        filt.contents.boundMinX = filt.contents.boundMinY = bound
        LIBVL._vl_dsift_update_buffers(filt)
        LIBVL.vl_dsift_process(filt, _floats(image))
        n, size = filt.contents.numFrames, filt.contents.descrSize
        descriptors = np.ctypeslib.as_array(filt.contents.descrs, shape=(n * size,)).reshape(n, size).copy()
        frames = np.array([(k.x, k.y, k.norm) for k in filt.contents.frames[:n]])
    finally:
        LIBVL.vl_dsift_delete(filt)
    return descriptors, frames


@needs_vlfeat
@pytest.mark.parametrize("bin_size", [4, 6, 8])
def test_dense_sift_is_vlfeats_on_real_faces(sample, bin_size):
    faces = sample.images[:6].astype(np.float32) / 255.0
    expected_smooth = np.stack([_vl_smooth(face, bin_size / 6) for face in faces])
    assert np.abs(dsift.smooth(faces, bin_size / 6) - expected_smooth).max() < 1e-5
    bound = int(1.5 * (8 - bin_size))  # vl_phow's offset, sizes up to 8
    mine, contrast = dsift.dense_sift(expected_smooth, bin_size=bin_size, step=2, bounds=(bound, bound))
    for i, face in enumerate(expected_smooth):
        descriptors, frames = _vl_dsift(face, bin_size=bin_size, step=2, bound=bound)
        ours = mine[i].reshape(-1, 128)
        assert ours.shape == descriptors.shape
        # VLFeat approximates atan2 (to ~0.005 rad): bins near an orientation boundary differ a little
        assert np.abs(ours - descriptors).max() < 0.02
        assert np.abs(ours - descriptors).mean() < 5e-4
        assert np.allclose(contrast[i].ravel(), frames[:, 2], rtol=1e-4)
        # the same nearest neighbour among the face's own descriptors: a vocabulary sees the same words
        nearest = np.argmax(ours @ descriptors.T, axis=1)
        assert (nearest == np.arange(len(ours))).mean() > 0.99
    # every size's frames share their centres: VLFeat's frame centres for this size
    ys, xs = np.meshgrid(dsift.frame_starts(48, bin_size, 2, bound), dsift.frame_starts(48, bin_size, 2, bound),
                         indexing="ij")
    assert np.array_equal(frames[:, :2], np.c_[xs.ravel(), ys.ravel()] + 1.5 * bin_size)


def test_phow_shares_frame_centres_across_sizes_and_zeroes_flat_patches(sample):
    faces = sample.images[:4].copy()
    out = dsift.phow(faces, sizes=(4, 6, 8), step=2)
    # frames of the largest size (8: 25 pixels) every 2 pixels: 12 per side, centres 12 ... 34 for every size
    assert out.shape == (4, 12, 12, 3, 128) and out.dtype == np.float32
    norms = np.linalg.norm(out, axis=-1)
    assert np.all((np.abs(norms - 1) < 1e-4) | (norms == 0)) and (norms > 0).mean() > 0.95
    assert out.min() >= 0 and out.max() <= 1
    flat = faces[:1].copy()
    flat[0, :, :] = 128
    assert not np.any(dsift.phow(flat, sizes=(4,), step=2))  # no contrast, no descriptor
    # a change in one corner changes the descriptors there, not in the opposite corner
    moved = faces[:1].copy()
    moved[0, :16, :16] = 255 - moved[0, :16, :16]
    before = dsift.phow(faces[:1], sizes=(4,), step=2)[0, :, :, 0]
    assert before.shape == (18, 18, 128)  # alone, size 4 has frames of 13 pixels: 18 per side
    changed = np.any(dsift.phow(moved, sizes=(4,), step=2)[0, :, :, 0] != before, axis=-1)
    assert changed[0, 0] and not changed[-1, -1]
    # brighter by a factor: the same unit-length descriptors (where contrast stays above the threshold)
    brighter = (faces[:1].astype(np.float32) * 0.5).astype(np.uint8)
    half = dsift.phow(brighter, sizes=(8,), step=2)[0, :, :, 0]
    kept = np.linalg.norm(half, axis=-1) > 0
    assert kept.mean() > 0.9 and np.abs(half[kept] - out[0, :, :, 2][kept]).max() < 0.05


def test_a_phow_bag_of_words(sample):
    images = sample.images[:200]
    d = BoVWDescriptor(local="phow", sift_bins=(4, 8), step=2, words=20, levels=(1, 2), encoding="presence",
                       sample_images=100, n_jobs=1)
    rows = d.fit(images).transform(images[:10])
    assert rows.shape == (10, 20 * 5) and d.vocabulary_.shape == (20, 128)
    cells = np.linalg.norm(rows.reshape(10, 5, 20), axis=2)
    assert np.allclose(cells, 1.0, atol=1e-5)  # presence vectors, each cell of unit length
    assert np.array_equal(rows, BoVWDescriptor(**d.get_params()).fit(images).transform(images[:10]))
    with pytest.raises(ValueError, match="smaller than a dense SIFT descriptor"):
        BoVWDescriptor(local="phow", sift_bins=(16,), words=4, sample_images=20).fit(images[:20])
