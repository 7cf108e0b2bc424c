"""The scenario model: validated scenario files, units, distributions, customers, identity."""
