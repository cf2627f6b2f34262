"""The multiverse of reasonable EMG analyses: every universe of a grid of preprocessing choices, from the raw files on.

:mod:`~opioidsocial.multiverse.grid` numbers the universes; one job per participant and
high-pass value (:mod:`~opioidsocial.multiverse.participant`) filters the recording once
and keeps the bins of every envelope of that filtering; one job per study
(:mod:`~opioidsocial.multiverse.study`) computes every universe's cell means from them
(:mod:`~opioidsocial.multiverse.universes`), estimates every planned effect in every
universe, the specification curve's joint tests (:mod:`~opioidsocial.multiverse.joint`)
and what each choice explains.
"""
