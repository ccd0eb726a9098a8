"""Reading stored runs: phases (`phases`), per-run summaries (`summaries`), the paper's tables
(`tables`), the sweeps' tables (`sweep_tables`), head roles (`heads`), four readings of a
plateau (`readings`) and the paper's claims evaluated on them (`claims`). Nothing here draws or
trains.
"""
