"""What the pipeline costs on AWS: measured from a real run on the twin, priced from the price table."""
