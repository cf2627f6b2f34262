"""The multiverse of reasonable EMG analyses: every universe of a grid of preprocessing choices, from the raw files on.

:mod:`~opioidsocial.multiverse.grid` numbers the universes; one job per participant
(:mod:`~opioidsocial.multiverse.participant`) computes every universe's cell means
from one read of the recording; one job per study (:mod:`~opioidsocial.multiverse.study`)
estimates every planned effect in every universe, the specification curve's joint
tests (:mod:`~opioidsocial.multiverse.joint`) and what each choice explains.
"""
