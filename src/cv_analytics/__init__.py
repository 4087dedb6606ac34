"""The operator's side: the `cv-analytics` command line, packaging and the local runtime."""
