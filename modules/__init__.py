"""Small typed CDK Terrain constructs the stacks in terraform/ are assembled from.

Only these modules and terraform/stacks import CDK Terrain; everything they are built from (queue attributes,
table keys, settings) is plain Python in src/contract.
"""
