"""Reports: runs side by side with published references (:mod:`.report`) and
the references themselves (``references.csv``)."""
