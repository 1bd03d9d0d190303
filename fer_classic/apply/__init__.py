"""Applying a trained run: scoring it on a labelled dataset (:mod:`.evaluate`) and labelling the faces
in photos (:mod:`.photos`)."""
