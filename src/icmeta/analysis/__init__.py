"""Reading stored runs: phases (`phases`), per-run summaries (`summaries`), the paper's tables
(`tables`), the sweeps' tables (`sweep_tables`) and head roles (`heads`). Nothing here draws or
trains.
"""
