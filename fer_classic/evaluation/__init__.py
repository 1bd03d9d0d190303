"""Statistics of labels against the truth: metrics (:mod:`.metrics`), intervals and paired tests
(:mod:`.uncertainty`), and their figures (:mod:`.plots`)."""
