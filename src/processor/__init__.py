"""The processor Lambda: correlates the Worker's query and response events into DynamoDB exactly once."""
