"""The event contract and the table models shared by the processor, the reporter and the infrastructure.

Everything that more than one component must agree on lives here and nowhere else: the JSON Schema of the
events the Worker sends, their typed Python form, and the PynamoDB models from which the infrastructure
derives the DynamoDB key schemas.
"""
