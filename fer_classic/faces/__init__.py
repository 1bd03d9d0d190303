"""Faces in photos: dlib's detector, its 68 landmarks and the alignment to FER2013's framing."""

from ..errors import ModelFileError
from .dlib_faces import (
                         SHAPE_PREDICTOR_FILE,
                         align_boxes,
                         align_face,
                         align_whole_images,
                         detect_boxes,
                         detect_faces,
                         eye_centres,
                         face_detector,
                         faces_found_whole,
                         find_aligned_faces,
                         landmarks,
                         models_loaded,
                         normalise_landmarks,
                         shape_predictor,
                         shape_predictor_path,
)

__all__ = ["ModelFileError", "SHAPE_PREDICTOR_FILE", "align_boxes", "align_face", "align_whole_images",
           "detect_boxes", "detect_faces", "eye_centres", "face_detector", "faces_found_whole", "find_aligned_faces", "landmarks",
           "models_loaded", "normalise_landmarks", "shape_predictor", "shape_predictor_path"]
