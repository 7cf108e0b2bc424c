"""Analysis around the simulator: Erlang formulas, calibration from logs, reality checks, sweeps, staffing."""
