"""The stacks of one environment: state bootstrap, infra, and one stack per function."""
