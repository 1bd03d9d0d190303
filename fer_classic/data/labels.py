"""The FER2013 label space and the names other datasets use for the same expressions."""

from __future__ import annotations

import re

FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
USAGES = ("Training", "PublicTest", "PrivateTest")

# Lower-case spellings seen in CK+, JAFFE (two-letter codes), KDEF (AF, AN, ...), RAF-DB and AffectNet.
_SYNONYMS = {
    "angry": ("angry", "anger", "an", "ang", "mad"),
    "disgust": ("disgust", "disgusted", "disgusting", "di", "dis"),
    "fear": ("fear", "fearful", "afraid", "scared", "fe", "af"),
    "happy": ("happy", "happiness", "joy", "ha", "hap", "smile"),
    "sad": ("sad", "sadness", "sa"),
    "surprise": ("surprise", "surprised", "su", "sur"),
    "neutral": ("neutral", "neutrality", "ne", "neu", "calm"),
}
SYNONYMS = {alias: name for name, aliases in _SYNONYMS.items() for alias in aliases}


def canonical_class_name(name: str) -> str | None:
    """The FER2013 class a dataset's class name means, or None when it has no equivalent.

    Digits are read as FER2013 label numbers ("3" is happy); case, spaces, dashes and
    underscores do not matter.

    >>> canonical_class_name("Happiness"), canonical_class_name("AN"), canonical_class_name("contempt")
    ('happy', 'angry', None)
    """
    key = re.sub(r"[\s_\-]+", "", str(name).strip().lower())
    if key.isdigit():
        index = int(key)
        return FER2013_CLASSES[index] if 0 <= index < len(FER2013_CLASSES) else None
    return SYNONYMS.get(key)


def normalise_extra_class_name(name: str) -> str:
    """How a class without a FER2013 equivalent is named: lower case, single words joined by '_'."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())
