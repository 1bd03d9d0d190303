"""Reports: runs side by side with published references (:mod:`.report`), figures (:mod:`.plots`) and
the references themselves (``references.csv``)."""
