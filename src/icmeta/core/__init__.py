"""The science itself: the task and its sampler (`task`; its counter-based random numbers:
`counter`), the model (`model`), the circuit metrics (`metrics`), the Bayes-ideal ceilings and the
SCC theory (`bayes`), and which configs can train together (`members`). Everything else in the
package is built on these.
"""
