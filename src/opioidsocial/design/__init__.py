"""Design analysis after the meta-analysis: how the past studies could have fared under
the pooled effect (power, type S and M errors), how many participants the next study
needs, the power of the crossed EMG design by simulation, and sequential Bayes-factor
designs. One module per workflow job; :mod:`.analytic` holds the closed forms they share.
"""
